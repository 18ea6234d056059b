-- Everything diagnose-revenue needs from the database: the facts of one model in one call, the ways
-- its ledger can be summed to match a Fanvue total, and bounds on the calls that spend a creator's
-- Fanvue rate limit (a cache of the last probe; throttles shared by diagnose probes, forced refreshes
-- and full force-syncs). At a million transactions: pending orders come from a partial covering
-- index (fanvue_transactions_pending_idx); the daily roll-up is aggregated once (source breakdown) and
-- the roll-up totals are derived from it; the exact ledger sum (linear in rows) is only done up to
-- p_exact_limit rows, the roll-up beyond (the method is reported).

-- The facts are scoped to the model's agency: the last cron run is the last one that synced one of
-- this agency's models, with this agency's outcome and errors only; the lease shows its kind, when it
-- was claimed, when the holder last stored a page and when it expires, never the worker's host or
-- process. Pending orders are counted over all time (the partial index makes it cheap).
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
  v_run uuid;
begin
  select * into v_model from public.models where id = p_model_id;
  if not found then
    raise exception 'model % not found', p_model_id using errcode = 'FV404';
  end if;
  select * into v_state from public.fanvue_sync_state where model_id = p_model_id;
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

  -- the last cron/reconcile run that touched a model of this agency
  select r.id into v_run
    from public.sync_runs r
   where r.kind in ('cron', 'reconcile')
     and exists (select 1 from public.sync_run_models rm where rm.run_id = r.id and rm.agency_id = v_model.agency_id)
   order by r.started_at desc limit 1;

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
                 where model_id = p_model_id and order_status = 'pendingBalance'),
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
              'lease_held', v_state.lease_owner is not null, 'lease_kind', v_state.lease_kind,
              'lease_claimed_at', case when v_state.lease_owner is not null then v_state.last_attempt_at end,
              'lease_last_progress_at', case when v_state.lease_owner is not null then v_state.updated_at end,
              'lease_expires_at', v_state.lease_expires_at),
    'connection', case when v_model.connection_id is null then null
                       else private.connection_json(v_model.connection_id, false) end,
    'last_cron_run', (select jsonb_build_object('id', r.id, 'kind', r.kind,
                               'status', case when bool_and(rm.outcome in ('ok', 'skipped', 'dry_run')) then 'ok'
                                              when bool_or(rm.outcome in ('ok', 'partial')) then 'partial'
                                              else 'failed' end,
                               'started_at', r.started_at, 'finished_at', r.finished_at,
                               'models', count(*),
                               'error', string_agg(m.name || ': ' || rm.error, '; ' order by m.name)
                                          filter (where rm.error is not null))
                        from public.sync_runs r
                        join public.sync_run_models rm on rm.run_id = r.id and rm.agency_id = v_model.agency_id
                        join public.models m on m.id = rm.model_id
                       where r.id = v_run
                       group by r.id),
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

-- Every way the ledger can be summed to match a Fanvue total, in integer cents, for a diagnosis to
-- compare: all items, or without `pendingBalance` items (Fanvue documents account.earnings.total as
-- the sum of PAID invoices), with or without refunds/chargebacks netted (we keep them as separate
-- rows), with or without the items dated at or after p_as_of (the instant Fanvue's figure was read).
-- Each candidate carries what it left out, so the diagnosis can say exactly why the figures differ.
create function public.fanvue_reconcile_candidates(p_model_id uuid, p_as_of timestamptz,
                                                              p_exact_limit bigint default 20000)
returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  v_model public.models;
  v_earn_n bigint;
  v_earn_g bigint;
  v_ref_n bigint;
  v_ref_g bigint;
  v_out jsonb;
begin
  select * into v_model from public.models where id = p_model_id;
  if not found then
    raise exception 'model % not found', p_model_id using errcode = 'FV404';
  end if;
  -- the base totals exactly as the diagnosis facts compute them (rows, or the roll-up when large)
  if v_model.transaction_count + v_model.refund_count <= p_exact_limit then
    select count(*) filter (where kind = 'earning'), coalesce(sum(gross_cents) filter (where kind = 'earning'), 0),
           count(*) filter (where kind <> 'earning'), coalesce(sum(gross_cents) filter (where kind <> 'earning'), 0)
      into v_earn_n, v_earn_g, v_ref_n, v_ref_g
      from public.fanvue_transactions where model_id = p_model_id;
  else
    select coalesce(sum(item_count) filter (where kind = 'earning'), 0),
           coalesce(sum(gross_cents) filter (where kind = 'earning'), 0),
           coalesce(sum(item_count) filter (where kind <> 'earning'), 0),
           coalesce(sum(gross_cents) filter (where kind <> 'earning'), 0)
      into v_earn_n, v_earn_g, v_ref_n, v_ref_g
      from public.fanvue_ledger_daily where model_id = p_model_id;
  end if;

  with pend as (  -- pending earnings (partial index), split by the as-of instant
    select count(*) filter (where transaction_date < p_as_of) n_before,
           coalesce(sum(gross_cents) filter (where transaction_date < p_as_of), 0) g_before,
           count(*) n_all, coalesce(sum(gross_cents), 0) g_all
      from public.fanvue_transactions
     where model_id = p_model_id and order_status = 'pendingBalance'),
  late as (  -- everything dated at or after the as-of instant (few rows, date index)
    select count(*) filter (where kind = 'earning') e_n,
           coalesce(sum(gross_cents) filter (where kind = 'earning'), 0) e_g,
           count(*) filter (where kind <> 'earning') r_n,
           coalesce(sum(gross_cents) filter (where kind <> 'earning'), 0) r_g
      from public.fanvue_transactions where model_id = p_model_id and transaction_date >= p_as_of),
  combos(ord, ex_pending, net_refunds, ex_after) as (
    values (1, false, false, false), (2, true, false, false), (3, false, true, false), (4, true, true, false),
           (5, false, false, true), (6, true, false, true), (7, false, true, true), (8, true, true, true)),
  parts as (
    select c.*,
           case when not c.ex_pending then 0 when c.ex_after then p.n_before else p.n_all end pend_n,
           case when not c.ex_pending then 0 when c.ex_after then p.g_before else p.g_all end pend_g,
           case when c.net_refunds then v_ref_n - (case when c.ex_after then l.r_n else 0 end) else 0 end ref_n,
           case when c.net_refunds then v_ref_g - (case when c.ex_after then l.r_g else 0 end) else 0 end ref_g,
           case when c.ex_after then l.e_n else 0 end after_n,
           case when c.ex_after then l.e_g else 0 end after_g
      from combos c cross join pend p cross join late l)
  select jsonb_build_object(
           'as_of', p_as_of,
           'earnings', jsonb_build_object('count', v_earn_n, 'gross_cents', v_earn_g),
           'refunds', jsonb_build_object('count', v_ref_n, 'gross_cents', v_ref_g),
           'candidates', jsonb_agg(jsonb_build_object(
              'excludes_pending', ex_pending, 'nets_refunds', net_refunds, 'excludes_after', ex_after,
              'total_cents', v_earn_g - pend_g - after_g + ref_g,
              'pending', jsonb_build_object('count', pend_n, 'gross_cents', pend_g),
              'refunds', jsonb_build_object('count', ref_n, 'gross_cents', ref_g),
              'after', jsonb_build_object('count', after_n, 'gross_cents', after_g)) order by ord))
    into v_out from parts;
  return v_out;
end
$$;

-- The cached probe of a model, if it was read with the model's current connection.
create function public.fanvue_probe_cache_get(p_model_id uuid, p_connection_id uuid)
returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object('result', c.result, 'probed_at', c.probed_at,
                            'age_s', floor(extract(epoch from now() - c.probed_at))::integer)
    from public.fanvue_probe_cache c
   where c.model_id = p_model_id and c.connection_id = p_connection_id
$$;

create function public.fanvue_probe_cache_put(p_model_id uuid, p_connection_id uuid, p_result jsonb)
returns jsonb
language sql
set search_path = public, pg_temp
as $$
  insert into public.fanvue_probe_cache (model_id, connection_id, result, probed_at)
  values (p_model_id, p_connection_id, p_result, now())
  on conflict (model_id) do update
     set connection_id = excluded.connection_id, result = excluded.result, probed_at = excluded.probed_at
  returning jsonb_build_object('probed_at', probed_at);
$$;

-- Takes one hit of `p_key` if fewer than p_limit were taken in the current p_window_s window.
-- Atomic (row lock), so concurrent instances cannot both pass the last free hit.
create function public.fanvue_throttle_take(p_key text, p_limit integer, p_window_s integer)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_row public.fanvue_throttle;
begin
  if p_limit is null or p_limit < 1 or p_window_s is null or p_window_s < 1 then
    raise exception 'p_limit and p_window_s must be positive' using errcode = 'FV422';
  end if;
  insert into public.fanvue_throttle as t (key, window_started_at, hits)
  values (p_key, now(), 0)
  on conflict (key) do update
     set window_started_at = case when t.window_started_at <= now() - make_interval(secs => p_window_s)
                                  then now() else t.window_started_at end,
         hits = case when t.window_started_at <= now() - make_interval(secs => p_window_s) then 0 else t.hits end
  returning * into v_row;
  if v_row.hits >= p_limit then
    return jsonb_build_object('allowed', false, 'hits', v_row.hits, 'limit', p_limit,
      'retry_after_s', greatest(1, ceil(extract(epoch from
         (v_row.window_started_at + make_interval(secs => p_window_s) - now()))))::integer);
  end if;
  update public.fanvue_throttle set hits = hits + 1, updated_at = now() where key = p_key;
  return jsonb_build_object('allowed', true, 'hits', v_row.hits + 1, 'limit', p_limit, 'retry_after_s', 0);
end
$$;

-- Gives a hit back (the action failed before doing its work, so a retry must not wait).
create function public.fanvue_throttle_give_back(p_key text)
returns jsonb
language sql
set search_path = public, pg_temp
as $$
  update public.fanvue_throttle set hits = greatest(hits - 1, 0), updated_at = now() where key = p_key;
  select jsonb_build_object('key', p_key);
$$;
