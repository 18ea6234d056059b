-- Schema of the Fanvue revenue sync. The same file applies to an empty database and to an existing
-- dashboard database that already has agencies, profiles, models and an older fanvue_transactions:
-- existing tables keep their rows, ids and columns and gain ours; missing tables are created.
-- Money is integer cents; dollar columns exist only as generated columns for the dashboard, so they
-- can never disagree with the cents and nothing can write them directly.

create schema if not exists private;
comment on schema private is 'Internal helpers of the revenue sync; not exposed through the REST API.';

-- Adds a column when the table does not have it yet (an existing database), silently otherwise.
create function pg_temp.add_column(p_table regclass, p_column text, p_definition text) returns void
language plpgsql as $$
begin
  if not exists (select 1 from pg_attribute where attrelid = p_table and attname = p_column and not attisdropped) then
    execute format('alter table %s add column %I %s', p_table, p_column, p_definition);
  end if;
end
$$;

-- ---------------------------------------------------------------- an existing database, before ours
-- An older ledger named fanvue_transactions (keyed by fanvue_transaction_id) is kept, rows untouched,
-- as fanvue_transactions_legacy; the security migration makes it read-only.
-- Every second writer of models.revenue_total goes, and so do the view and the SECURITY DEFINER RPCs
-- that read or wrote the plaintext token columns with the rights of their owner.
do $$
declare
  r record;
begin
  if exists (select 1 from pg_attribute where attrelid = to_regclass('public.fanvue_transactions')
                and attname = 'fanvue_transaction_id' and not attisdropped)
     and not exists (select 1 from pg_attribute where attrelid = to_regclass('public.fanvue_transactions')
                        and attname = 'dedupe_key' and not attisdropped) then
    if to_regclass('public.fanvue_transactions_legacy') is not null then
      raise exception 'both fanvue_transactions (legacy shape) and fanvue_transactions_legacy exist: rename one';
    end if;
    alter table public.fanvue_transactions rename to fanvue_transactions_legacy;
    -- index names are unique per schema: free ours for the new ledger
    for r in select conname from pg_constraint
              where conrelid = 'public.fanvue_transactions_legacy'::regclass and conname like 'fanvue\_transactions\_%'
    loop
      execute format('alter table public.fanvue_transactions_legacy rename constraint %I to %I',
                     r.conname, 'fanvue_transactions_legacy_' || substr(r.conname, 21));
    end loop;
    for r in select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid
              where i.indrelid = 'public.fanvue_transactions_legacy'::regclass and c.relname like 'fanvue\_transactions\_%'
    loop
      execute format('alter index public.%I rename to %I', r.relname, 'fanvue_transactions_legacy_' || substr(r.relname, 21));
    end loop;
    for r in select tgname from pg_trigger
              where tgrelid = 'public.fanvue_transactions_legacy'::regclass and not tgisinternal
    loop
      execute format('drop trigger %I on public.fanvue_transactions_legacy', r.tgname);
    end loop;
  elsif to_regclass('public.fanvue_transactions') is not null then
    raise exception 'public.fanvue_transactions exists with an unknown shape: nothing was changed';
  end if;

  if to_regclass('public.models_needing_sync') is not null then
    drop view public.models_needing_sync;
  end if;
  for r in select p.oid::regprocedure as fn from pg_proc p
            where p.pronamespace = 'public'::regnamespace
              and p.proname in ('mark_sync_complete', 'update_fanvue_token', 'recalculate_all_model_revenues',
                                'sync_model_revenue_from_transactions')
  loop
    execute format('drop function %s', r.fn);
  end loop;
end
$$;

-- An existing models table: Fanvue user ids become uuids (refused, with the offending rows, if one is
-- not a uuid), and the hand-written revenue_total becomes the generated column below. Its last value
-- is kept in legacy_revenue_cents and stays what the dashboard shows until the model's first full
-- backfill completes (legacy_revenue_pending).
do $$
declare
  v_bad text;
begin
  if to_regclass('public.models') is null then
    return;
  end if;
  if (select atttypid from pg_attribute where attrelid = 'public.models'::regclass
         and attname = 'fanvue_user_uuid' and not attisdropped) = 'text'::regtype then
    select string_agg(format('%s (%s)', id, fanvue_user_uuid), ', ') into v_bad
      from public.models
     where nullif(btrim(fanvue_user_uuid), '') is not null
       and btrim(fanvue_user_uuid) !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
    if v_bad is not null then
      raise exception 'models.fanvue_user_uuid is not a uuid for: %; correct these rows, then migrate again', v_bad;
    end if;
    alter table public.models alter column fanvue_user_uuid type uuid using nullif(btrim(fanvue_user_uuid), '')::uuid;
  end if;
  if exists (select 1 from pg_attribute where attrelid = 'public.models'::regclass and attname = 'revenue_total'
                and attgenerated = '' and not attisdropped) then
    alter table public.models add column legacy_revenue_cents bigint,
                              add column legacy_revenue_pending boolean not null default false;
    update public.models set legacy_revenue_cents = round(revenue_total * 100)::bigint, legacy_revenue_pending = true;
    alter table public.models drop column revenue_total;
  end if;
end
$$;

-- ---------------------------------------------------------------- tables
do $$
begin
  if to_regclass('public.agencies') is null then
    create table public.agencies (
      id         uuid primary key default gen_random_uuid(),
      name       text not null check (length(name) between 1 and 200),
      created_at timestamptz not null default now()
    );
  end if;
  -- One row per dashboard user (id = Supabase auth user id). role is the app's own value; what it
  -- may do here is decided by public.fanvue_role_map.
  if to_regclass('public.profiles') is null then
    create table public.profiles (
      id         uuid primary key,
      agency_id  uuid references public.agencies (id) on delete cascade,
      role       text not null default 'member' check (role in ('owner', 'admin', 'member')),
      email      text,
      created_at timestamptz not null default now()
    );
  end if;
end
$$;
select pg_temp.add_column('public.agencies', 'created_at', 'timestamptz not null default now()');
select pg_temp.add_column('public.profiles', 'agency_id', 'uuid references public.agencies (id) on delete cascade');
select pg_temp.add_column('public.profiles', 'role', 'text');
select pg_temp.add_column('public.profiles', 'email', 'text');
create index if not exists profiles_agency_idx on public.profiles (agency_id);

-- How the dashboard's roles map onto ours ('admin' may connect and force a sync, 'member' reads).
-- A role missing here is a member. Edit the rows to change the mapping.
create table public.fanvue_role_map (
  app_role text primary key,
  access   text not null check (access in ('admin', 'member'))
);
insert into public.fanvue_role_map (app_role, access) values
  ('owner', 'admin'), ('admin', 'admin'), ('grandmaster', 'admin'), ('member', 'member');

-- One OAuth grant. Tokens are AES-GCM ciphertexts ("v1:<key id>:<base64>") written by lib.tokens only.
create table public.fanvue_connections (
  id                       uuid primary key default gen_random_uuid(),
  agency_id                uuid not null references public.agencies (id) on delete cascade,
  kind                     text not null check (kind in ('creator', 'agency')),
  fanvue_user_uuid         uuid not null,
  fanvue_handle            text,
  access_token_enc         text,
  refresh_token_enc        text,
  token_key_id             text,
  token_version            integer not null default 0,
  expires_at               timestamptz,
  scopes                   text[] not null default '{}',
  status                   text not null default 'active'
                           check (status in ('active', 'needs_reconnect', 'revoked')),
  status_reason            text,
  refresh_lease_owner      text,
  refresh_lease_expires_at timestamptz,
  last_refresh_at          timestamptz,
  last_refresh_outcome     text,
  last_error               text,
  last_error_at            timestamptz,
  created_by               uuid,
  created_at               timestamptz not null default now(),
  updated_at               timestamptz not null default now(),
  constraint fanvue_connections_agency_user_kind_key unique (agency_id, fanvue_user_uuid, kind)
);
create index fanvue_connections_expiry_idx on public.fanvue_connections (expires_at) where status = 'active';

-- A creator managed by an agency. revenue_total (all-time gross, USD) is what the dashboard sums: the
-- ledger total, or, for a model adopted from an older database whose first full backfill has not
-- completed yet, the figure that database last showed (no $0 window).
do $$
begin
  if to_regclass('public.models') is null then
    create table public.models (
      id                     uuid primary key default gen_random_uuid(),
      agency_id              uuid not null references public.agencies (id) on delete cascade,
      name                   text not null check (length(name) between 1 and 200),
      fanvue_user_uuid       uuid,
      created_at             timestamptz not null default now()
    );
  end if;
end
$$;
select pg_temp.add_column('public.models', 'fanvue_handle', 'text');
select pg_temp.add_column('public.models', 'connection_id',
                          'uuid references public.fanvue_connections (id) on delete set null');
select pg_temp.add_column('public.models', 'revenue_gross_cents', 'bigint not null default 0');
select pg_temp.add_column('public.models', 'revenue_net_cents', 'bigint not null default 0');
select pg_temp.add_column('public.models', 'revenue_refund_cents', 'bigint not null default 0');
select pg_temp.add_column('public.models', 'refund_net_cents', 'bigint not null default 0');
select pg_temp.add_column('public.models', 'transaction_count', 'bigint not null default 0');
select pg_temp.add_column('public.models', 'refund_count', 'bigint not null default 0');
select pg_temp.add_column('public.models', 'legacy_revenue_cents', 'bigint');
select pg_temp.add_column('public.models', 'legacy_revenue_pending', 'boolean not null default false');
select pg_temp.add_column('public.models', 'revenue_total',
  'numeric(14, 2) generated always as (case when legacy_revenue_pending then legacy_revenue_cents::numeric / 100'
  ' else revenue_gross_cents::numeric / 100 end) stored');
select pg_temp.add_column('public.models', 'net_revenue_total',
                          'numeric(14, 2) generated always as (revenue_net_cents::numeric / 100) stored');
select pg_temp.add_column('public.models', 'refund_total',
                          'numeric(14, 2) generated always as (revenue_refund_cents::numeric / 100) stored');
select pg_temp.add_column('public.models', 'revenue_updated_at', 'timestamptz');
select pg_temp.add_column('public.models', 'created_at', 'timestamptz not null default now()');
do $$
declare
  v_dupes text;
begin
  if not exists (select 1 from pg_constraint where conrelid = 'public.models'::regclass
                    and conname = 'models_agency_fanvue_user_key') then
    select string_agg(format('%s in agency %s', fanvue_user_uuid, agency_id), ', ') into v_dupes
      from (select agency_id, fanvue_user_uuid from public.models where fanvue_user_uuid is not null
             group by 1, 2 having count(*) > 1) d;
    if v_dupes is not null then
      raise exception 'several models share one Fanvue creator: %; merge them, then migrate again', v_dupes;
    end if;
    alter table public.models add constraint models_agency_fanvue_user_key unique (agency_id, fanvue_user_uuid);
  end if;
end
$$;
create index models_agency_idx on public.models (agency_id);
create index models_connection_idx on public.models (connection_id);
create index models_lower_name_idx on public.models (agency_id, lower(name));

-- The ledger. One row per Fanvue earning line or reversal; (model_id, dedupe_key) is the identity.
-- amount, net_amount, platform_fee, transaction_type, fan_id, fan_username and agency_id keep the
-- column contract dashboards read (transaction_type in subscription/tip/ppv/message/post/stream/other).
create table public.fanvue_transactions (
  id               bigint generated always as identity primary key,
  model_id         uuid not null references public.models (id) on delete cascade,
  agency_id        uuid,  -- the model's agency, set by private.ledger_row_agency
  dedupe_key       text not null,
  kind             text not null check (kind in ('earning', 'refund', 'chargeback')),
  transaction_date timestamptz not null,
  source           text not null,
  gross_cents      bigint not null,
  net_cents        bigint not null,
  amount           numeric(14, 2) generated always as (gross_cents::numeric / 100) stored,
  net_amount       numeric(14, 2) generated always as (net_cents::numeric / 100) stored,
  platform_fee     numeric(14, 2) generated always as ((gross_cents - net_cents)::numeric / 100) stored,
  transaction_type text generated always as (
                     case when kind <> 'earning' then 'other'
                          when source in ('subscription', 'renewal') then 'subscription'
                          when source in ('tip', 'ppv', 'message', 'post', 'stream') then source
                          when source = 'livestream' then 'stream'
                          else 'other' end) stored,
  currency         text,
  order_id         text,
  order_status     text,
  fan_uuid         text,
  fan_handle       text,
  fan_id           text generated always as (fan_uuid) stored,
  fan_username     text generated always as (fan_handle) stored,
  message_uuid     text,
  post_uuid        text,
  raw              jsonb not null,
  first_seen_at    timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint fanvue_transactions_model_dedupe_key unique (model_id, dedupe_key)
);
create index fanvue_transactions_model_date_idx on public.fanvue_transactions (model_id, transaction_date);
create index fanvue_transactions_agency_date_idx on public.fanvue_transactions (agency_id, transaction_date);
create index fanvue_transactions_fallback_key_idx on public.fanvue_transactions (model_id)
  where order_id is null and kind = 'earning';
-- pending orders for diagnosis without a heap scan of the last 120 days
create index fanvue_transactions_pending_idx on public.fanvue_transactions (model_id, transaction_date)
  include (gross_cents) where order_status = 'pendingBalance';

-- Sync progress per model: the watermark is the end of the contiguous range already stored.
create table public.fanvue_sync_state (
  model_id                uuid primary key references public.models (id) on delete cascade,
  history_start           timestamptz,
  watermark               timestamptz,
  spending_watermark      timestamptz,
  backfill_completed_at   timestamptz,
  -- the window in progress per stream: {"earnings": {"start", "end", "resume_end"}}; items in
  -- [resume_end, end) are stored, so an interrupted window resumes at its last stored page
  progress                jsonb not null default '{}'::jsonb,
  next_sync_at            timestamptz not null default now(),
  last_attempt_at         timestamptz,
  last_success_at         timestamptz,
  last_outcome            text,
  last_error              text,
  last_error_at           timestamptz,
  consecutive_failures    integer not null default 0,
  lease_owner             text,
  lease_kind              text,
  lease_expires_at        timestamptz,
  updated_at              timestamptz not null default now()
);
create index fanvue_sync_state_due_idx on public.fanvue_sync_state (next_sync_at);

-- Run history: one row per invocation, one row per model it touched.
create table public.sync_runs (
  id           uuid primary key default gen_random_uuid(),
  kind         text not null check (kind in ('cron', 'reconcile', 'force', 'refresh', 'cli')),
  worker       text not null,
  status       text not null default 'running'
               check (status in ('running', 'ok', 'partial', 'failed', 'empty')),
  started_at   timestamptz not null default now(),
  finished_at  timestamptz,
  budget_seconds integer,
  summary      jsonb not null default '{}'::jsonb,
  error        text
);
create index sync_runs_kind_started_idx on public.sync_runs (kind, started_at desc);

create table public.sync_run_models (
  run_id               uuid not null references public.sync_runs (id) on delete cascade,
  model_id             uuid not null references public.models (id) on delete cascade,
  agency_id            uuid not null references public.agencies (id) on delete cascade,
  outcome              text not null check (outcome in ('ok', 'partial', 'failed', 'skipped', 'dry_run')),
  fetched              integer not null default 0,
  inserted             integer not null default 0,
  updated              integer not null default 0,
  unchanged            integer not null default 0,
  revenue_before_cents bigint,
  revenue_after_cents  bigint,
  window_start         timestamptz,
  window_end           timestamptz,
  error                text,
  started_at           timestamptz not null default now(),
  finished_at          timestamptz not null default now(),
  primary key (run_id, model_id)
);
create index sync_run_models_model_idx on public.sync_run_models (model_id, finished_at desc);

-- OAuth `state` values already redeemed (the state itself is stateless and encrypted; this only
-- makes it single-use).
create table public.oauth_state_uses (
  state_id   text primary key,
  used_at    timestamptz not null default now(),
  expires_at timestamptz not null
);

-- Per-day, per-source roll-up of the ledger, maintained by the same trigger as the model totals so
-- diagnosis and charts never scan a million rows.
create table public.fanvue_ledger_daily (
  model_id    uuid not null references public.models (id) on delete cascade,
  day         date not null,
  kind        text not null,
  source      text not null,
  item_count  bigint not null default 0,
  gross_cents bigint not null default 0,
  net_cents   bigint not null default 0,
  primary key (model_id, day, kind, source)
);

-- Per-month roll-up of the ledger (kind only), maintained by the same trigger: an agency's overview
-- sums a few rows per model instead of every day of every source.
create table public.fanvue_ledger_monthly (
  model_id    uuid not null references public.models (id) on delete cascade,
  month       date not null check (extract(day from month) = 1),
  kind        text not null,
  item_count  bigint not null default 0,
  gross_cents bigint not null default 0,
  net_cents   bigint not null default 0,
  primary key (model_id, month, kind)
);

-- Fanvue webhook deliveries. A delivery is only a trigger: it is recorded once and marks the
-- recipient creator's models due for the next sync; nothing here writes revenue.
-- Replay safety: delivery_hash = sha256("<t>.<raw body>") of a verified signature. Signatures older
-- than 5 minutes are refused before they get here, so rows older than 30 days are pruned.
create table public.fanvue_webhook_events (
  id             uuid primary key default gen_random_uuid(),
  received_at    timestamptz not null default now(),
  signature_t    bigint not null,
  delivery_hash  text not null check (delivery_hash ~ '^[0-9a-f]{64}$'),
  recipient_uuid uuid,
  event_type     text not null default 'unknown' check (length(event_type) between 1 and 100),
  payload        jsonb not null,
  model_ids      uuid[] not null default '{}',
  constraint fanvue_webhook_events_delivery_hash_key unique (delivery_hash)
);
create index fanvue_webhook_events_received_idx on public.fanvue_webhook_events (received_at);
create index fanvue_webhook_events_recipient_idx on public.fanvue_webhook_events (recipient_uuid, received_at desc);

-- What the adopt step did per model of an existing database (see devstack/adopt.py): where each
-- plaintext token went, so a second run knows it is done.
create table public.fanvue_adoption (
  model_id      uuid primary key references public.models (id) on delete cascade,
  connection_id uuid references public.fanvue_connections (id) on delete set null,
  outcome       text not null,
  adopted_at    timestamptz not null default now()
);

-- A diagnosis probe's result (Fanvue's figures, reachability; never a token), per model, so repeated
-- diagnoses within a short time read it instead of spending the creator's rate limit again. Keyed by
-- model (an agency connection answers per creator) and bound to the connection it was read with.
create table public.fanvue_probe_cache (
  model_id      uuid primary key references public.models (id) on delete cascade,
  connection_id uuid not null references public.fanvue_connections (id) on delete cascade,
  result        jsonb not null,
  probed_at     timestamptz not null default now()
);

-- Fixed-window counters shared by every serverless instance: "at most N of <action> per window".
create table public.fanvue_throttle (
  key               text primary key check (length(key) between 1 and 200),
  window_started_at timestamptz not null default now(),
  hits              integer not null default 0,
  updated_at        timestamptz not null default now()
);

-- Alert incidents computed from the database state: one open row per (kind, subject), posted once
-- when it opens and once when it clears (notified_*), claimed by one invocation at a time (claimed_*).
create table public.fanvue_incidents (
  id                    uuid primary key default gen_random_uuid(),
  kind                  text not null check (kind in ('needs_reconnect', 'sync_failing', 'backfill_stalled',
                                                      'cron_overdue', 'reconcile_mismatch')),
  subject               text not null check (length(subject) between 1 and 100),
  agency_id             uuid references public.agencies (id) on delete cascade,
  model_id              uuid references public.models (id) on delete cascade,
  connection_id         uuid references public.fanvue_connections (id) on delete cascade,
  opened_at             timestamptz not null default now(),
  last_seen_at          timestamptz not null default now(),
  resolved_at           timestamptz,
  detail                jsonb not null default '{}'::jsonb,
  notified_open_at      timestamptz,
  notified_resolved_at  timestamptz,
  attempts              integer not null default 0,
  last_delivery_error   text,
  last_delivery_at      timestamptz,
  claimed_by            text,
  claimed_until         timestamptz
);
create unique index fanvue_incidents_open_key on public.fanvue_incidents (kind, subject) where resolved_at is null;
create index fanvue_incidents_pending_idx on public.fanvue_incidents (opened_at)
  where notified_open_at is null or (resolved_at is not null and notified_resolved_at is null);
create index fanvue_incidents_agency_idx on public.fanvue_incidents (agency_id, opened_at desc);

-- The last figure Fanvue itself reported for a model (account.earnings.total, all-time gross cents),
-- written whenever a probe reads it, with the diagnosis's reconciliation of it (pass: equal, or the
-- difference is explained by data we hold, e.g. pending items Fanvue has not paid yet; warn: newer
-- sales the next sync picks up; fail: unexplained), so the overview can show "stored vs ledger vs
-- Fanvue" without calling Fanvue for 200 models and without crying wolf over pending balances.
create table public.fanvue_reported_totals (
  model_id            uuid primary key references public.models (id) on delete cascade,
  account_total_cents bigint not null,
  ledger_gross_cents  bigint not null,
  source              text not null check (source in ('probe', 'reconcile')),
  status              text not null check (status in ('pass', 'warn', 'fail')),
  explanation         text not null,
  observed_at         timestamptz not null default now()
);

drop function pg_temp.add_column(regclass, text, text);
