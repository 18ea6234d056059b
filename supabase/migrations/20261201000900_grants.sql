-- The database API is for the service role only: every function of ours in public (fanvue_*) and
-- private is revoked from PUBLIC, anon and authenticated one by one and granted to service_role.
-- Two exceptions for the dashboard: private.current_agency_id() (the RLS policies call it) and
-- public.get_revenue_by_date_range (its chart RPC; SECURITY INVOKER, so RLS applies).
-- Default privileges are left alone: a function added later must revoke and grant for itself.
do $$
declare
  r record;
begin
  for r in select p.oid::regprocedure as fn
             from pg_proc p
            where p.pronamespace = 'private'::regnamespace
               or (p.pronamespace = 'public'::regnamespace
                   and (p.proname like 'fanvue\_%' or p.proname = 'get_revenue_by_date_range'))
  loop
    execute format('revoke all on function %s from public, anon, authenticated', r.fn);
    execute format('grant execute on function %s to service_role', r.fn);
  end loop;
end
$$;
grant execute on function private.current_agency_id() to authenticated;
grant execute on function public.get_revenue_by_date_range(uuid, uuid, timestamptz, timestamptz) to authenticated;
