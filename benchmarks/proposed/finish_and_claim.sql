-- PROPOSED FIX (measured by benchmarks/cron_tick.py --patches tokens,finish --sql ...; not a migration):
-- a cron tick makes 4 database calls per model besides the ingest: claim, token read, record run
-- model, release. This records the outcome, releases the lease (fenced) and, when asked, claims the
-- worker's next due model - one transaction, one round trip. The run history row is written in a
-- sub-block so a failure there never keeps the lease (same guarantee as finish_model's try/finally).
create or replace function public.fanvue_finish_model(
  p_run_id uuid, p_model_id uuid, p_worker text, p_outcome text, p_stats jsonb, p_error text default null,
  p_next_sync_seconds integer default 900, p_claim_next boolean default false, p_lease_seconds integer default 300,
  p_kind text default 'cron', p_not_attempted_since timestamptz default null
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_recorded boolean := true;
  v_released jsonb;
begin
  begin
    perform public.fanvue_record_run_model(p_run_id, p_model_id, p_outcome, p_stats);
  exception when others then
    v_recorded := false;
  end;
  v_released := public.fanvue_release_model(p_model_id => p_model_id, p_worker => p_worker, p_outcome => p_outcome,
                                            p_error => p_error, p_next_sync_seconds => p_next_sync_seconds);
  return jsonb_build_object(
    'recorded', v_recorded, 'released', v_released -> 'released',
    'next', case when p_claim_next
                 then public.fanvue_claim_models(p_worker => p_worker, p_limit => 1, p_lease_seconds => p_lease_seconds,
                                                 p_kind => p_kind, p_not_attempted_since => p_not_attempted_since)
                 else '[]'::jsonb end);
end
$$;
revoke all on function public.fanvue_finish_model(uuid, uuid, text, text, jsonb, text, integer, boolean, integer, text,
                                                  timestamptz) from public, anon, authenticated;
grant execute on function public.fanvue_finish_model(uuid, uuid, text, text, jsonb, text, integer, boolean, integer,
                                                     text, timestamptz) to service_role;
