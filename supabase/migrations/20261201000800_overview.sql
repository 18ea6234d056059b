-- One page for the agency: every model's revenue, connection and freshness in one SQL call.

-- Upserts the last figure Fanvue itself reported for a model (public.fanvue_reported_totals) and its
-- reconciliation; the diagnosis writes it after each probe.
create function public.fanvue_record_reported_total(p_model_id uuid, p_account_total_cents bigint,
                                                    p_ledger_gross_cents bigint, p_source text,
                                                    p_status text, p_explanation text)
returns void
language sql
set search_path = public, pg_temp
as $$
  insert into public.fanvue_reported_totals (model_id, account_total_cents, ledger_gross_cents, source, status,
                                             explanation, observed_at)
  values (p_model_id, p_account_total_cents, p_ledger_gross_cents, p_source, p_status, p_explanation, now())
  on conflict (model_id) do update
    set account_total_cents = excluded.account_total_cents, ledger_gross_cents = excluded.ledger_gross_cents,
        source = excluded.source, status = excluded.status, explanation = excluded.explanation,
        observed_at = excluded.observed_at
$$;

-- Facts for every model of one agency. The ledger figure is the per-month roll-up the ledger trigger
-- maintains in the same transaction as the ledger (an exact row sum over every model would read the
-- whole ledger; the single-model diagnosis does the exact sum). `daily` maps each of the last p_days
-- UTC days that had earnings to its gross cents (days without earnings are absent). Open incidents come from
-- public.fanvue_open_incidents(uuid) (20261201000600_alerts.sql).
create function public.fanvue_agency_overview(p_agency_id uuid, p_days integer default 30)
returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  v_days integer := least(greatest(coalesce(p_days, 30), 1), 366);
  v_today date := (now() at time zone 'UTC')::date;
  v_models jsonb;
  v_incidents jsonb := '[]'::jsonb;
begin
  with ledger as (
    select mo.model_id, sum(mo.gross_cents) as gross_cents, sum(mo.item_count) as item_count
      from public.fanvue_ledger_monthly mo
     where mo.model_id in (select id from public.models where agency_id = p_agency_id) and mo.kind = 'earning'
     group by mo.model_id
  ), trend as (
    select t.model_id, jsonb_object_agg(t.day, t.gross_cents) as days
      from (select d.model_id, d.day, sum(d.gross_cents) as gross_cents
              from public.fanvue_ledger_daily d
             where d.model_id in (select id from public.models where agency_id = p_agency_id)
               and d.day > v_today - v_days and d.kind = 'earning'
             group by d.model_id, d.day) t
     group by t.model_id
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', m.id, 'name', m.name, 'fanvue_handle', m.fanvue_handle,
           'stored_cents', m.revenue_gross_cents, 'stored_count', m.transaction_count,
           'ledger_cents', coalesce(l.gross_cents, 0), 'ledger_count', coalesce(l.item_count, 0),
           'revenue_updated_at', m.revenue_updated_at,
           'fanvue', case when r.model_id is null then null
                          else jsonb_build_object('account_total_cents', r.account_total_cents,
                                 'ledger_gross_cents', r.ledger_gross_cents, 'source', r.source,
                                 'status', r.status, 'explanation', r.explanation,
                                 'observed_at', r.observed_at) end,
           'connection', case when c.id is null then null
                              else jsonb_build_object('id', c.id, 'kind', c.kind, 'status', c.status,
                                     'status_reason', c.status_reason, 'expires_at', c.expires_at,
                                     'last_error', c.last_error, 'last_error_at', c.last_error_at) end,
           'sync', jsonb_build_object('last_success_at', s.last_success_at, 'last_attempt_at', s.last_attempt_at,
                     'last_outcome', s.last_outcome, 'last_error', s.last_error,
                     'consecutive_failures', coalesce(s.consecutive_failures, 0),
                     'watermark', s.watermark, 'next_sync_at', s.next_sync_at,
                     'backfill_completed_at', s.backfill_completed_at,
                     'backfill_progress', s.progress -> 'earnings',
                     'lease_owner', s.lease_owner, 'lease_kind', s.lease_kind,
                     'lease_expires_at', s.lease_expires_at),
           'daily', coalesce(t.days, '{}'::jsonb)
         ) order by m.name, m.id), '[]'::jsonb)
    into v_models
    from public.models m
    left join ledger l on l.model_id = m.id
    left join public.fanvue_connections c on c.id = m.connection_id
    left join public.fanvue_sync_state s on s.model_id = m.id
    left join public.fanvue_reported_totals r on r.model_id = m.id
    left join trend t on t.model_id = m.id
   where m.agency_id = p_agency_id;

  v_incidents := public.fanvue_open_incidents(p_agency_id);

  return jsonb_build_object(
    'now', now(),
    'agency', (select jsonb_build_object('id', a.id, 'name', a.name) from public.agencies a where a.id = p_agency_id),
    'days', v_days,
    'trend_start', v_today - v_days + 1,
    'trend_end', v_today,
    'last_cron_run', (select jsonb_build_object('status', r.status, 'started_at', r.started_at,
                               'finished_at', r.finished_at)
                        from public.sync_runs r where r.kind in ('cron', 'reconcile')
                       order by r.started_at desc limit 1),
    'models', v_models,
    'incidents', coalesce(v_incidents, '[]'::jsonb)
  );
end
$$;
