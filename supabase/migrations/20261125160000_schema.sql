-- Schema of the Fanvue revenue sync. Migrations are the only source of the schema (F10).
-- Money is integer cents; dollar columns exist only as generated columns for the dashboard, so they
-- can never disagree with the cents and nothing can write them directly (F2).

create schema private;
comment on schema private is 'Internal helpers of the revenue sync; not exposed through the REST API.';

create table public.agencies (
  id         uuid primary key default gen_random_uuid(),
  name       text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now()
);

-- One row per dashboard user (id = Supabase auth user id).
create table public.profiles (
  id         uuid primary key,
  agency_id  uuid references public.agencies (id) on delete cascade,
  role       text not null default 'member' check (role in ('owner', 'admin', 'member')),
  email      text,
  created_at timestamptz not null default now()
);
create index profiles_agency_idx on public.profiles (agency_id);

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

-- A creator managed by an agency. revenue_total (all-time gross, USD) is what the dashboard sums.
create table public.models (
  id                    uuid primary key default gen_random_uuid(),
  agency_id             uuid not null references public.agencies (id) on delete cascade,
  name                  text not null check (length(name) between 1 and 200),
  fanvue_user_uuid      uuid,
  fanvue_handle         text,
  connection_id         uuid references public.fanvue_connections (id) on delete set null,
  revenue_gross_cents   bigint not null default 0,
  revenue_net_cents     bigint not null default 0,
  revenue_refund_cents  bigint not null default 0,
  refund_net_cents      bigint not null default 0,
  transaction_count     bigint not null default 0,
  refund_count          bigint not null default 0,
  revenue_total         numeric(14, 2) generated always as (revenue_gross_cents::numeric / 100) stored,
  net_revenue_total     numeric(14, 2) generated always as (revenue_net_cents::numeric / 100) stored,
  refund_total          numeric(14, 2) generated always as (revenue_refund_cents::numeric / 100) stored,
  revenue_updated_at    timestamptz,
  created_at            timestamptz not null default now(),
  constraint models_agency_fanvue_user_key unique (agency_id, fanvue_user_uuid)
);
create index models_agency_idx on public.models (agency_id);
create index models_connection_idx on public.models (connection_id);
create index models_lower_name_idx on public.models (agency_id, lower(name));

-- The ledger. One row per Fanvue earning line or reversal; (model_id, dedupe_key) is the identity.
create table public.fanvue_transactions (
  id               bigint generated always as identity primary key,
  model_id         uuid not null references public.models (id) on delete cascade,
  dedupe_key       text not null,
  kind             text not null check (kind in ('earning', 'refund', 'chargeback')),
  transaction_date timestamptz not null,
  source           text not null,
  gross_cents      bigint not null,
  net_cents        bigint not null,
  amount           numeric(14, 2) generated always as (gross_cents::numeric / 100) stored,
  net_amount       numeric(14, 2) generated always as (net_cents::numeric / 100) stored,
  transaction_type text generated always as (case when kind = 'earning' then source else kind end) stored,
  currency         text,
  order_id         text,
  order_status     text,
  fan_uuid         text,
  fan_handle       text,
  message_uuid     text,
  post_uuid        text,
  raw              jsonb not null,
  first_seen_at    timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint fanvue_transactions_model_dedupe_key unique (model_id, dedupe_key)
);
create index fanvue_transactions_model_date_idx on public.fanvue_transactions (model_id, transaction_date);

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
