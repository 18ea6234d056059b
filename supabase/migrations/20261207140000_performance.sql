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

-- ---------------------------------------------------------------- the ledger trigger's insert fast path
-- An INSERT statement's delta is its new rows: aggregate the transition table directly, once per
-- statement, instead of building a jsonb array of every row and parsing it back. Updates and deletes
-- (rare: an order changing status, a model removed) keep the signed-delta path.
create or replace function private.ledger_changed() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_rows jsonb;
begin
  if tg_op = 'INSERT' then
    perform private.add_revenue(d.model_id, d.g, d.n, d.rg, d.rn, d.c, d.rc)
       from (select n.model_id,
                    coalesce(sum(n.gross_cents) filter (where n.kind = 'earning'), 0)::bigint  as g,
                    coalesce(sum(n.net_cents)   filter (where n.kind = 'earning'), 0)::bigint  as n,
                    coalesce(sum(n.gross_cents) filter (where n.kind <> 'earning'), 0)::bigint as rg,
                    coalesce(sum(n.net_cents)   filter (where n.kind <> 'earning'), 0)::bigint as rn,
                    count(*) filter (where n.kind = 'earning')::bigint  as c,
                    count(*) filter (where n.kind <> 'earning')::bigint as rc
               from new_rows n
              group by n.model_id) d;
    insert into public.fanvue_ledger_daily as ld (model_id, day, kind, source, item_count, gross_cents, net_cents)
    select n.model_id, (n.transaction_date at time zone 'UTC')::date, n.kind, n.source,
           count(*), sum(n.gross_cents), sum(n.net_cents)
      from new_rows n
     where exists (select 1 from public.models m where m.id = n.model_id)  -- not while a model is deleted
     group by 1, 2, 3, 4
    on conflict (model_id, day, kind, source) do update
       set item_count  = ld.item_count + excluded.item_count,
           gross_cents = ld.gross_cents + excluded.gross_cents,
           net_cents   = ld.net_cents + excluded.net_cents;
    return null;
  elsif tg_op = 'UPDATE' then
    select jsonb_agg(x) into v_rows from (
      select jsonb_build_object('model_id', n.model_id, 'sign', 1, 'kind', n.kind, 'source', n.source,
               'transaction_date', n.transaction_date, 'gross_cents', n.gross_cents, 'net_cents', n.net_cents) as x
        from new_rows n
      union all
      select jsonb_build_object('model_id', o.model_id, 'sign', -1, 'kind', o.kind, 'source', o.source,
               'transaction_date', o.transaction_date, 'gross_cents', o.gross_cents, 'net_cents', o.net_cents)
        from old_rows o
    ) changed;
  else
    select jsonb_agg(jsonb_build_object('model_id', o.model_id, 'sign', -1, 'kind', o.kind, 'source', o.source,
             'transaction_date', o.transaction_date, 'gross_cents', o.gross_cents, 'net_cents', o.net_cents))
      into v_rows from old_rows o;
  end if;
  if v_rows is not null then
    perform private.apply_ledger_delta(v_rows);
  end if;
  return null;
end
$$;
revoke all on function private.ledger_changed() from public;
