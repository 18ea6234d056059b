-- Row level security and grants (F8). Dashboard users (`authenticated`) read only their own agency's
-- rows and never a token column; `anon` reads nothing; every write goes through the service role.
-- Supabase grants ALL on new public tables to anon/authenticated by default, so revoke first.

revoke all on all tables in schema public from anon, authenticated;
revoke all on all sequences in schema public from anon, authenticated;
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to authenticated, service_role;

-- The caller's agency, read with the definer's rights so the profiles policy cannot recurse.
create function private.current_agency_id() returns uuid
language sql stable security definer
set search_path = public, pg_temp
as $$
  select p.agency_id from public.profiles p where p.id = auth.uid()
$$;
revoke all on function private.current_agency_id() from public;
grant execute on function private.current_agency_id() to authenticated, service_role;

alter table public.agencies enable row level security;
alter table public.profiles enable row level security;
alter table public.fanvue_connections enable row level security;
alter table public.models enable row level security;
alter table public.fanvue_transactions enable row level security;
alter table public.fanvue_sync_state enable row level security;
alter table public.sync_runs enable row level security;
alter table public.sync_run_models enable row level security;
alter table public.oauth_state_uses enable row level security;

grant select on public.agencies, public.profiles, public.models, public.fanvue_transactions,
  public.fanvue_sync_state, public.sync_run_models to authenticated;
-- A cron run spans agencies: its summary and error stay with the service role.
grant select (id, kind, status, started_at, finished_at) on public.sync_runs to authenticated;
-- Token columns are simply not granted.
grant select (id, agency_id, kind, fanvue_user_uuid, fanvue_handle, expires_at, scopes, status,
  status_reason, last_refresh_at, last_refresh_outcome, last_error, last_error_at, created_at, updated_at)
  on public.fanvue_connections to authenticated;

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

grant all on all tables in schema public to service_role;
grant all on all sequences in schema public to service_role;

alter table public.fanvue_ledger_daily enable row level security;
revoke all on public.fanvue_ledger_daily from anon, authenticated;
grant select on public.fanvue_ledger_daily to authenticated;
grant all on public.fanvue_ledger_daily to service_role;
create policy ledger_daily_read_own_agency on public.fanvue_ledger_daily for select to authenticated
  using (model_id in (select m.id from public.models m where m.agency_id = private.current_agency_id()));
