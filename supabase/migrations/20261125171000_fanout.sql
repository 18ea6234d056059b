-- How many models are due now (sizes the cron fan-out). Service role only.
create function public.fanvue_due_count() returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object('due', count(*))
    from public.fanvue_sync_state s
    join public.models m on m.id = s.model_id
    join public.fanvue_connections c on c.id = m.connection_id
   where c.status = 'active' and m.fanvue_user_uuid is not null
     and s.next_sync_at <= now()
     and (s.lease_owner is null or s.lease_expires_at < now())
$$;
revoke execute on function public.fanvue_due_count() from public, anon, authenticated;
grant execute on function public.fanvue_due_count() to service_role;
