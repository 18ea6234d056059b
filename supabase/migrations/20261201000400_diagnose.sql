-- Everything diagnose-revenue needs from the database, in one call. At a million transactions:
-- pending orders come from a partial covering index (fanvue_transactions_pending_idx); the daily
-- roll-up is aggregated once (source breakdown) and the roll-up totals are derived from it; the
-- exact ledger sum (linear in rows) is only done up to p_exact_limit rows, the roll-up beyond (the
-- method is reported).

create function public.fanvue_diagnosis_facts(p_model_id uuid, p_days integer default 90,
                                              p_exact_limit bigint default 20000)
returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  v_model public.models;
  v_state public.fanvue_sync_state;
  v_ledger jsonb;
  v_exact boolean;
  v_by_source jsonb;
begin
  select * into v_model from public.models where id = p_model_id;
  if not found then
    raise exception 'model % not found', p_model_id using errcode = 'FV404';
  end if;
  select * into v_state from public.fanvue_sync_state where model_id = p_model_id;
  -- one pass over the daily roll-up: the source breakdown, and from it the roll-up totals
  select coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'source', source, 'n', n, 'g', g, 'nn', nn)), '[]'::jsonb)
    into v_by_source
    from (select kind, source, sum(item_count) n, sum(gross_cents) g, sum(net_cents) nn
            from public.fanvue_ledger_daily where model_id = p_model_id group by kind, source) s;
  v_exact := v_model.transaction_count + v_model.refund_count <= p_exact_limit;

  if v_exact then
    select jsonb_build_object(
             'method', 'ledger',
             'gross_cents', coalesce(sum(gross_cents) filter (where kind = 'earning'), 0),
             'net_cents', coalesce(sum(net_cents) filter (where kind = 'earning'), 0),
             'refund_cents', coalesce(sum(gross_cents) filter (where kind <> 'earning'), 0),
             'refund_net_cents', coalesce(sum(net_cents) filter (where kind <> 'earning'), 0),
             'count', count(*) filter (where kind = 'earning'),
             'refund_count', count(*) filter (where kind <> 'earning'))
      into v_ledger from public.fanvue_transactions where model_id = p_model_id;
  else
    select jsonb_build_object(
             'method', 'daily_rollup',
             'gross_cents', coalesce(sum(s.g) filter (where s.kind = 'earning'), 0),
             'net_cents', coalesce(sum(s.nn) filter (where s.kind = 'earning'), 0),
             'refund_cents', coalesce(sum(s.g) filter (where s.kind <> 'earning'), 0),
             'refund_net_cents', coalesce(sum(s.nn) filter (where s.kind <> 'earning'), 0),
             'count', coalesce(sum(s.n) filter (where s.kind = 'earning'), 0),
             'refund_count', coalesce(sum(s.n) filter (where s.kind <> 'earning'), 0))
      into v_ledger from jsonb_to_recordset(v_by_source) as s(kind text, n numeric, g numeric, nn numeric);
  end if;

  return jsonb_build_object(
    'now', now(),
    'model', jsonb_build_object('id', v_model.id, 'name', v_model.name, 'agency_id', v_model.agency_id,
               'fanvue_user_uuid', v_model.fanvue_user_uuid, 'fanvue_handle', v_model.fanvue_handle,
               'connection_id', v_model.connection_id, 'created_at', v_model.created_at),
    'stored', jsonb_build_object('gross_cents', v_model.revenue_gross_cents, 'net_cents', v_model.revenue_net_cents,
               'refund_cents', v_model.revenue_refund_cents, 'refund_net_cents', v_model.refund_net_cents,
               'count', v_model.transaction_count, 'refund_count', v_model.refund_count,
               'revenue_total', v_model.revenue_total, 'revenue_updated_at', v_model.revenue_updated_at),
    'ledger', v_ledger || jsonb_build_object(
               'first_date', (select min(transaction_date) from public.fanvue_transactions where model_id = p_model_id),
               'last_date', (select max(transaction_date) from public.fanvue_transactions where model_id = p_model_id)),
    'by_source', (select coalesce(jsonb_agg(jsonb_build_object('kind', s.kind, 'source', s.source, 'count', s.n,
                                   'gross_cents', s.g, 'net_cents', s.nn) order by s.g desc), '[]'::jsonb)
                    from jsonb_to_recordset(v_by_source) as s(kind text, source text, n numeric, g numeric, nn numeric)
                   where s.n <> 0),
    'daily', (select coalesce(jsonb_agg(jsonb_build_object('day', day, 'gross_cents', g, 'net_cents', nn)
                                        order by day), '[]'::jsonb)
                from (select day, sum(gross_cents) g, sum(net_cents) nn
                        from public.fanvue_ledger_daily
                       where model_id = p_model_id and kind = 'earning'
                         and day >= (now() at time zone 'UTC')::date - p_days
                       group by day) d),
    'pending', (select jsonb_build_object('count', count(*), 'gross_cents', coalesce(sum(gross_cents), 0))
                  from public.fanvue_transactions
                 where model_id = p_model_id and order_status = 'pendingBalance'
                   and transaction_date >= now() - interval '120 days'),
    'after_watermark', (select jsonb_build_object('count', count(*), 'gross_cents', coalesce(sum(gross_cents), 0))
                          from public.fanvue_transactions
                         where model_id = p_model_id and kind = 'earning'
                           and transaction_date >= coalesce(v_state.watermark, 'infinity'::timestamptz)),
    'fallback_keyed', (select count(*) from public.fanvue_transactions
                        where model_id = p_model_id and order_id is null and kind = 'earning'),
    'dedupe_constraint', (select jsonb_build_object('name', conname, 'valid', convalidated,
                                   'definition', pg_get_constraintdef(oid))
                            from pg_constraint
                           where conrelid = 'public.fanvue_transactions'::regclass
                             and conname = 'fanvue_transactions_model_dedupe_key' and contype = 'u'),
    'sync', jsonb_build_object('history_start', v_state.history_start, 'watermark', v_state.watermark,
              'spending_watermark', v_state.spending_watermark,
              'backfill_completed_at', v_state.backfill_completed_at, 'next_sync_at', v_state.next_sync_at,
              'progress', v_state.progress,
              'last_attempt_at', v_state.last_attempt_at, 'last_success_at', v_state.last_success_at,
              'last_outcome', v_state.last_outcome, 'last_error', v_state.last_error,
              'last_error_at', v_state.last_error_at, 'consecutive_failures', v_state.consecutive_failures,
              'lease_owner', v_state.lease_owner, 'lease_kind', v_state.lease_kind,
              'lease_expires_at', v_state.lease_expires_at),
    'connection', case when v_model.connection_id is null then null
                       else private.connection_json(v_model.connection_id, false) end,
    'last_cron_run', (select jsonb_build_object('id', r.id, 'kind', r.kind, 'status', r.status,
                               'started_at', r.started_at, 'finished_at', r.finished_at, 'error', r.error)
                        from public.sync_runs r where r.kind in ('cron', 'reconcile')
                       order by r.started_at desc limit 1),
    'recent_runs', (select coalesce(jsonb_agg(x order by (x ->> 'finished_at') desc), '[]'::jsonb) from (
                      select jsonb_build_object('run_id', rm.run_id, 'kind', r.kind, 'outcome', rm.outcome,
                               'fetched', rm.fetched, 'inserted', rm.inserted, 'updated', rm.updated,
                               'revenue_before_cents', rm.revenue_before_cents,
                               'revenue_after_cents', rm.revenue_after_cents, 'error', rm.error,
                               'finished_at', rm.finished_at) as x
                        from public.sync_run_models rm join public.sync_runs r on r.id = rm.run_id
                       where rm.model_id = p_model_id
                       order by rm.finished_at desc limit 5) recent)
  );
end
$$;
