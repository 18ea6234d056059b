-- Fewer round trips per model and less work per stored row.

-- ---------------------------------------------------------------- one call between two models
-- Ends one model and starts the next in one transaction: records the finished model in the run
-- history (p_run_id), releases its lease with the outcome (holder only, as fanvue_release_model) and,
-- with p_claim, claims the next due model exactly as fanvue_claim_models(p_limit => 1) does. Either
-- half may be absent: no p_model_id claims only, p_claim false releases only.
-- Returns {"released": bool | null, "work": work item | null}.
create function public.fanvue_finish_and_claim(
  p_worker text, p_model_id uuid default null, p_run_id uuid default null, p_outcome text default null,
  p_stats jsonb default null, p_error text default null, p_next_sync_seconds integer default 900,
  p_claim boolean default true, p_lease_seconds integer default 300, p_kind text default 'cron',
  p_not_attempted_since timestamptz default null
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_released boolean;
  v_claimed jsonb;
begin
  if p_model_id is not null then
    if p_run_id is not null then
      perform public.fanvue_record_run_model(p_run_id, p_model_id, p_outcome, coalesce(p_stats, '{}'::jsonb));
    end if;
    v_released := (public.fanvue_release_model(p_model_id, p_worker, p_outcome, p_error,
                                               p_next_sync_seconds) ->> 'released')::boolean;
  end if;
  if p_claim then
    v_claimed := public.fanvue_claim_models(p_worker, 1, p_lease_seconds, p_kind, false, p_not_attempted_since);
  end if;
  return jsonb_build_object('released', v_released, 'work', v_claimed -> 0);
end
$$;
revoke execute on function public.fanvue_finish_and_claim(text, uuid, uuid, text, jsonb, text, integer, boolean,
                                                          integer, text, timestamptz) from public;
revoke execute on function public.fanvue_finish_and_claim(text, uuid, uuid, text, jsonb, text, integer, boolean,
                                                          integer, text, timestamptz) from anon;
revoke execute on function public.fanvue_finish_and_claim(text, uuid, uuid, text, jsonb, text, integer, boolean,
                                                          integer, text, timestamptz) from authenticated;
grant execute on function public.fanvue_finish_and_claim(text, uuid, uuid, text, jsonb, text, integer, boolean,
                                                         integer, text, timestamptz) to service_role;
