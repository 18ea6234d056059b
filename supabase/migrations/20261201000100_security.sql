-- Row level security and grants. Dashboard users (`authenticated`) read only their own agency's rows
-- and never a token column; `anon` reads nothing; every write of ours goes through the service role.
-- Supabase grants ALL on new public tables to anon/authenticated, so each of our tables is revoked
-- first, one by one: nothing here changes the privileges of objects this project does not own.

revoke all on schema private from public, anon, authenticated;
grant usage on schema private to authenticated, service_role;

-- The caller's agency, read with the definer's rights so the profiles policy cannot recurse.
create function private.current_agency_id() returns uuid
language sql stable security definer
set search_path = public, pg_temp
as $$
  select p.agency_id from public.profiles p where p.id = auth.uid()
$$;
revoke all on function private.current_agency_id() from public, anon;
grant execute on function private.current_agency_id() to authenticated, service_role;

-- What a dashboard role may do here: 'admin' or 'member' (public.fanvue_role_map; unknown = member).
create function private.access_role(p_app_role text) returns text
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce((select m.access from public.fanvue_role_map m where m.app_role = lower(btrim(p_app_role))),
                  'member')
$$;

-- A table kept only to be read: every write is refused, whoever makes it.
create function private.refuse_write() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
  raise exception '% is read-only: it keeps the rows of an older sync as they were', tg_table_name
    using errcode = 'FV403';
end
$$;

do $$
declare
  t text;
begin
  foreach t in array array['agencies', 'profiles', 'models', 'fanvue_role_map', 'fanvue_connections',
                           'fanvue_transactions', 'fanvue_sync_state', 'sync_runs', 'sync_run_models',
                           'oauth_state_uses', 'fanvue_ledger_daily', 'fanvue_webhook_events', 'fanvue_adoption',
                           'fanvue_probe_cache', 'fanvue_throttle', 'fanvue_incidents',
                           'fanvue_reported_totals', 'fanvue_ledger_monthly']
  loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from public, anon, authenticated', t);
    execute format('grant all on table public.%I to service_role', t);
  end loop;
end
$$;
revoke all on sequence public.fanvue_transactions_id_seq from public, anon, authenticated;
grant usage, select on sequence public.fanvue_transactions_id_seq to service_role;

grant select on public.agencies, public.profiles, public.models, public.fanvue_transactions,
  public.fanvue_sync_state, public.sync_run_models, public.fanvue_ledger_daily to authenticated;
-- A cron run spans agencies: its summary and error stay with the service role.
grant select (id, kind, status, started_at, finished_at) on public.sync_runs to authenticated;
-- Token columns are simply not granted.
grant select (id, agency_id, kind, fanvue_user_uuid, fanvue_handle, expires_at, scopes, status,
  status_reason, last_refresh_at, last_refresh_outcome, last_error, last_error_at, created_at, updated_at)
  on public.fanvue_connections to authenticated;
-- Incidents without the claim columns (which worker is posting them).
grant select (id, kind, subject, agency_id, model_id, connection_id, opened_at, last_seen_at, resolved_at, detail,
              notified_open_at, notified_resolved_at, attempts, last_delivery_error, last_delivery_at)
  on public.fanvue_incidents to authenticated;

create policy agencies_read_own on public.agencies for select to authenticated
  using (id = private.current_agency_id());
create policy profiles_read_own_agency on public.profiles for select to authenticated
  using (agency_id = private.current_agency_id());
create policy connections_read_own_agency on public.fanvue_connections for select to authenticated
  using (agency_id = private.current_agency_id());
create policy models_read_own_agency on public.models for select to authenticated
  using (agency_id = private.current_agency_id());
create policy transactions_read_own_agency on public.fanvue_transactions for select to authenticated
  using (model_id in (select m.id from public.models m where m.agency_id = private.current_agency_id()));
create policy sync_state_read_own_agency on public.fanvue_sync_state for select to authenticated
  using (model_id in (select m.id from public.models m where m.agency_id = private.current_agency_id()));
create policy run_models_read_own_agency on public.sync_run_models for select to authenticated
  using (agency_id = private.current_agency_id());
create policy runs_read_own_agency on public.sync_runs for select to authenticated
  using (exists (select 1 from public.sync_run_models rm
                 where rm.run_id = sync_runs.id and rm.agency_id = private.current_agency_id()));
create policy ledger_daily_read_own_agency on public.fanvue_ledger_daily for select to authenticated
  using (model_id in (select m.id from public.models m where m.agency_id = private.current_agency_id()));
create policy incidents_read_own_agency on public.fanvue_incidents for select to authenticated
  using (agency_id = private.current_agency_id());

-- An existing dashboard database keeps what its own policies let users write in agencies, profiles
-- and models, except the columns this project owns (identity, tenancy, revenue, connections), which
-- only the service role writes: a browser can no longer set revenue, relink a model, or move itself
-- into another agency or role.
do $$
declare
  v_protected jsonb := '{
    "agencies": ["id"],
    "profiles": ["id", "agency_id", "role"],
    "models": ["id", "agency_id", "fanvue_user_uuid", "fanvue_handle", "connection_id", "revenue_gross_cents",
               "revenue_net_cents", "revenue_refund_cents", "refund_net_cents", "transaction_count",
               "refund_count", "legacy_revenue_cents", "legacy_revenue_pending", "revenue_updated_at",
               "fanvue_access_token", "fanvue_refresh_token", "fanvue_api_key", "fanvue_token_expires_at"]}';
  t text;
  v_cmd text;
  v_cols text;
begin
  foreach t in array array['agencies', 'profiles', 'models'] loop
    foreach v_cmd in array array['INSERT', 'UPDATE'] loop
      if exists (select 1 from pg_policies where schemaname = 'public' and tablename = t
                    and cmd in (v_cmd, 'ALL')) then
        select string_agg(quote_ident(a.attname), ', ' order by a.attnum) into v_cols
          from pg_attribute a
         where a.attrelid = format('public.%I', t)::regclass and a.attnum > 0 and not a.attisdropped
           and a.attgenerated = '' and (v_cmd = 'INSERT' or not (v_protected -> t) ? a.attname::text);
        execute format('grant %s (%s) on public.%I to authenticated', v_cmd, v_cols, t);
      end if;
    end loop;
  end loop;

  -- the older ledger: agency members read it, nobody writes it
  if to_regclass('public.fanvue_transactions_legacy') is not null then
    alter table public.fanvue_transactions_legacy enable row level security;
    revoke all on table public.fanvue_transactions_legacy from public, anon, authenticated, service_role;
    grant select on table public.fanvue_transactions_legacy to authenticated, service_role;
    for v_cmd in select policyname from pg_policies
                  where schemaname = 'public' and tablename = 'fanvue_transactions_legacy' loop
      execute format('drop policy %I on public.fanvue_transactions_legacy', v_cmd);
    end loop;
    create policy legacy_transactions_read_own_agency on public.fanvue_transactions_legacy for select
      to authenticated using (agency_id = private.current_agency_id());
    create trigger fanvue_transactions_legacy_read_only
      before insert or update or delete or truncate on public.fanvue_transactions_legacy
      for each statement execute function private.refuse_write();
  end if;

  -- an older agency grant table: anon could insert into it (plaintext tokens) and read it
  if to_regclass('public.agency_fanvue_connections') is not null then
    revoke all on table public.agency_fanvue_connections from anon;
  end if;
end
$$;
