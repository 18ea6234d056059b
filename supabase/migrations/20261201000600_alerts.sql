-- Alerts: incidents computed from the database state, posted once when they open and once when they
-- clear. Overlapping invocations cannot open duplicates (partial unique index) nor post twice
-- (notifications are claimed with FOR UPDATE SKIP LOCKED and a short claim lease). A failed post
-- leaves the notification pending with its error, and the next run retries it.
-- The incidents live in public.fanvue_incidents (schema); the daily reconcile feeds reconcile_mismatch.

-- Opens and resolves incidents of the given kinds from the database state, set-wise, in one statement
-- per step. p_reconcile (from the daily reconcile) is [{model_id, unexplained, ...evidence}]: a
-- mismatch opens for unexplained entries and resolves only for models it checked. Returns
-- {opened, resolved, pending} where pending counts notifications waiting to be posted.
create function public.fanvue_evaluate_incidents(
  p_kinds text[], p_failure_runs integer default 3, p_cron_overdue_seconds integer default 3600,
  p_backfill_stall_seconds integer default 86400, p_reconcile jsonb default null
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_out jsonb;
begin
  if p_kinds is null or not p_kinds <@ array['needs_reconnect', 'sync_failing', 'backfill_stalled',
                                             'cron_overdue', 'reconcile_mismatch'] then
    raise exception 'unknown incident kind in %', p_kinds using errcode = 'FV422';
  end if;
  if p_reconcile is not null and jsonb_typeof(p_reconcile) <> 'array' then
    raise exception 'p_reconcile must be an array' using errcode = 'FV422';
  end if;

  with last_cron as (
    select max(started_at) as at from public.sync_runs where kind in ('cron', 'reconcile')
  ), current_state (kind, subject, agency_id, model_id, connection_id, detail) as (
    select 'needs_reconnect', c.id::text, c.agency_id,
           (select m.id from public.models m where m.connection_id = c.id order by m.name, m.id limit 1), c.id,
           jsonb_build_object('agency', a.name, 'connection_kind', c.kind, 'handle', c.fanvue_handle,
                              'status', c.status, 'reason', coalesce(c.status_reason, c.last_error),
                              'since', coalesce(c.last_error_at, c.updated_at),
                              'models', (select coalesce(jsonb_agg(m.name order by m.name), '[]'::jsonb)
                                           from public.models m where m.connection_id = c.id))
      from public.fanvue_connections c join public.agencies a on a.id = c.agency_id
     where 'needs_reconnect' = any (p_kinds) and c.status <> 'active'
    union all
    select 'sync_failing', m.id::text, m.agency_id, m.id, m.connection_id,
           jsonb_build_object('agency', a.name, 'model', m.name, 'failures', s.consecutive_failures,
                              'threshold', p_failure_runs, 'last_error', s.last_error,
                              'since', s.last_error_at, 'last_success_at', s.last_success_at)
      from public.fanvue_sync_state s
      join public.models m on m.id = s.model_id
      join public.agencies a on a.id = m.agency_id
      join public.fanvue_connections c on c.id = m.connection_id
     where 'sync_failing' = any (p_kinds)
       and s.consecutive_failures >= greatest(p_failure_runs, 1)
       and c.status = 'active'  -- a dead connection is its own incident
    union all
    select 'backfill_stalled', m.id::text, m.agency_id, m.id, m.connection_id,
           jsonb_build_object('agency', a.name, 'model', m.name, 'history_start', s.history_start,
                              'progress', s.progress, 'last_attempt_at', s.last_attempt_at,
                              'last_error', s.last_error,
                              'last_progress_at', (select max(rm.finished_at) from public.sync_run_models rm
                                                    where rm.model_id = m.id and rm.inserted > 0))
      from public.fanvue_sync_state s
      join public.models m on m.id = s.model_id
      join public.agencies a on a.id = m.agency_id
      join public.fanvue_connections c on c.id = m.connection_id
     where 'backfill_stalled' = any (p_kinds)
       and s.backfill_completed_at is null and c.status = 'active'
       and m.created_at < now() - make_interval(secs => p_backfill_stall_seconds)
       and not exists (select 1 from public.sync_run_models rm
                        where rm.model_id = m.id and rm.inserted > 0
                          and rm.finished_at > now() - make_interval(secs => p_backfill_stall_seconds))
    union all
    select 'cron_overdue', 'cron', null::uuid, null::uuid, null::uuid,
           jsonb_build_object('last_cron_at', lc.at, 'overdue_after_s', p_cron_overdue_seconds)
      from last_cron lc
     where 'cron_overdue' = any (p_kinds)
       and ((lc.at is not null and lc.at < now() - make_interval(secs => p_cron_overdue_seconds))
            or (lc.at is null and exists (
                  select 1 from public.fanvue_connections c
                   where c.created_at < now() - make_interval(secs => p_cron_overdue_seconds))))
    union all
    select 'reconcile_mismatch', m.id::text, m.agency_id, m.id, m.connection_id,
           (r.value - 'model_id' - 'unexplained') || jsonb_build_object('agency', a.name, 'model', m.name)
      from jsonb_array_elements(coalesce(p_reconcile, '[]'::jsonb)) r
      join public.models m on m.id = (r.value ->> 'model_id')::uuid
      join public.agencies a on a.id = m.agency_id
     where 'reconcile_mismatch' = any (p_kinds) and (r.value ->> 'unexplained')::boolean
  ), resolved as (
    update public.fanvue_incidents i
       set resolved_at = now(), claimed_by = null, claimed_until = null
     where i.resolved_at is null and i.kind = any (p_kinds)
       and not exists (select 1 from current_state c where c.kind = i.kind and c.subject = i.subject)
       and (i.kind <> 'reconcile_mismatch' or exists (
              select 1 from jsonb_array_elements(coalesce(p_reconcile, '[]'::jsonb)) r
               where r.value ->> 'model_id' = i.subject))
    returning 1
  ), opened as (
    insert into public.fanvue_incidents as i (kind, subject, agency_id, model_id, connection_id, detail)
    select c.kind, c.subject, c.agency_id, c.model_id, c.connection_id, c.detail from current_state c
    on conflict (kind, subject) where resolved_at is null
    do update set last_seen_at = now(), detail = excluded.detail
    returning (i.xmax = 0) as inserted
  )
  select jsonb_build_object('opened', (select count(*) filter (where inserted) from opened),
                            'resolved', (select count(*) from resolved))
    into v_out;

  return v_out || jsonb_build_object('pending', (select count(*) from public.fanvue_incidents
     where notified_open_at is null or (resolved_at is not null and notified_resolved_at is null)));
end
$$;

-- Claims up to p_limit notifications waiting to be posted (skipping rows another invocation holds),
-- for p_claim_seconds. phase 'open' announces an incident; 'resolved' its recovery (also covering the
-- opening when that was never posted).
create function public.fanvue_claim_notifications(p_worker text, p_limit integer default 20,
                                                  p_claim_seconds integer default 60)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_out jsonb;
begin
  if p_worker is null or p_limit is null or p_limit < 1 or p_limit > 200 or p_claim_seconds < 1 then
    raise exception 'a worker, a limit in 1..200 and a positive claim time are required' using errcode = 'FV422';
  end if;
  with todo as (
    select i.id from public.fanvue_incidents i
     where (i.notified_open_at is null or (i.resolved_at is not null and i.notified_resolved_at is null))
       and (i.claimed_until is null or i.claimed_until < now())
     order by i.opened_at, i.id
     limit p_limit
       for update skip locked
  ), claimed as (
    update public.fanvue_incidents i
       set claimed_by = p_worker, claimed_until = now() + make_interval(secs => p_claim_seconds),
           attempts = i.attempts + 1
      from todo where i.id = todo.id
    returning i.*
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', c.id, 'kind', c.kind, 'subject', c.subject, 'agency_id', c.agency_id,
           'model_id', c.model_id, 'connection_id', c.connection_id, 'opened_at', c.opened_at,
           'resolved_at', c.resolved_at, 'detail', c.detail, 'attempts', c.attempts,
           'open_notified', c.notified_open_at is not null,
           'phase', case when c.resolved_at is null then 'open' else 'resolved' end)
           order by c.opened_at, c.id), '[]'::jsonb)
    into v_out from claimed c;
  return v_out;
end
$$;

-- Ends a claim: delivered (p_error null) marks the phase posted; otherwise the error is kept and the
-- notification stays pending for the next run. Only the claimer may finish (fencing).
create function public.fanvue_finish_notification(p_id uuid, p_worker text, p_phase text, p_error text default null)
returns jsonb
language sql
set search_path = public, pg_temp
as $$
  update public.fanvue_incidents
     set notified_open_at = case when p_error is null then coalesce(notified_open_at, now()) else notified_open_at end,
         notified_resolved_at = case when p_error is null and p_phase = 'resolved' then now()
                                     else notified_resolved_at end,
         last_delivery_error = case when p_error is null then null else left(p_error, 300) end,
         last_delivery_at = now(), claimed_by = null, claimed_until = null
   where id = p_id and claimed_by = p_worker
  returning jsonb_build_object('id', id, 'delivered', p_error is null)
$$;

-- Open incidents of one agency (and the deployment-wide ones, such as an overdue cron), newest first,
-- for the overview page. Delivery errors are included so a broken alert channel is visible.
create function public.fanvue_open_incidents(p_agency_id uuid) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', i.id, 'kind', i.kind, 'subject', i.subject, 'model_id', i.model_id,
           'connection_id', i.connection_id, 'opened_at', i.opened_at, 'last_seen_at', i.last_seen_at,
           'detail', i.detail, 'notified', i.notified_open_at is not null,
           'last_delivery_error', i.last_delivery_error) order by i.opened_at desc, i.id), '[]'::jsonb)
    from public.fanvue_incidents i
   where i.resolved_at is null and (i.agency_id = p_agency_id or i.agency_id is null)
$$;

-- The reconcile's comparison inputs per model: the route to ask Fanvue and the ledger's earnings
-- sums over [p_start, p_end) and before p_end, with the pending part of each ([] without an active connection).
create function public.fanvue_reconcile_ledger(p_model_id uuid, p_start timestamptz, p_end timestamptz)
returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'model_id', m.id, 'name', m.name, 'fanvue_user_uuid', m.fanvue_user_uuid,
           'connection_id', c.id, 'connection_kind', c.kind, 'connection_user_uuid', c.fanvue_user_uuid,
           'window_gross_cents', l.window_gross, 'window_pending_cents', l.window_pending,
           'before_end_gross_cents', l.before_gross, 'before_end_pending_cents', l.before_pending)), '[]'::jsonb)
    from public.models m
    join public.fanvue_connections c on c.id = m.connection_id and c.status = 'active'
    cross join lateral (
      select coalesce(sum(t.gross_cents) filter (where t.transaction_date >= p_start), 0)::bigint as window_gross,
             coalesce(sum(t.gross_cents) filter (where t.transaction_date >= p_start
                                                   and t.order_status = 'pendingBalance'), 0)::bigint as window_pending,
             coalesce(sum(t.gross_cents), 0)::bigint as before_gross,
             coalesce(sum(t.gross_cents) filter (where t.order_status = 'pendingBalance'), 0)::bigint as before_pending
        from public.fanvue_transactions t
       where t.model_id = m.id and t.kind = 'earning' and t.transaction_date < p_end
    ) l
   where m.id = p_model_id
$$;

-- Adds what the alert step did to a run's recorded summary, so a failing alert channel shows in the
-- run history.
create function public.fanvue_note_run_alerts(p_run_id uuid, p_alerts jsonb) returns jsonb
language sql
set search_path = public, pg_temp
as $$
  update public.sync_runs set summary = summary || jsonb_build_object('alerts', p_alerts)
   where id = p_run_id
  returning jsonb_build_object('id', id)
$$;
