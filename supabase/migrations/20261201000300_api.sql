-- The database API: every read or write the functions need is one of these functions, called by
-- `rpc` through either transport. All return jsonb. Executable by service_role only (see the end).
-- Custom SQLSTATEs: FV404 not found, FV409 lease/version conflict, FV422 invalid request.

-- ---------------------------------------------------------------- who is asking
-- role is 'admin' or 'member' as mapped by public.fanvue_role_map; app_role is the profile's own value.
create function public.fanvue_get_profile(p_user_id uuid) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object('id', p.id, 'agency_id', p.agency_id, 'role', private.access_role(p.role),
                            'app_role', p.role)
    from public.profiles p where p.id = p_user_id
$$;

-- Models of one agency matching an id or an exact (case-insensitive) name. Another agency's model is
-- indistinguishable from a missing one. A null agency (the cron secret) may look a model up by id only.
create function public.fanvue_find_models(p_agency_id uuid, p_model_id uuid default null, p_name text default null)
returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', m.id, 'name', m.name, 'agency_id', m.agency_id, 'fanvue_user_uuid', m.fanvue_user_uuid,
           'connection_id', m.connection_id) order by m.name, m.id), '[]'::jsonb)
    from public.models m
   where (m.agency_id = p_agency_id or (p_agency_id is null and p_model_id is not null))
     and (p_model_id is null or m.id = p_model_id)
     and (p_name is null or lower(m.name) = lower(p_name))
     and (p_model_id is not null or p_name is not null)
$$;

-- ---------------------------------------------------------------- work items and leases
create function private.work_item(p_model_id uuid) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
           'model_id', m.id, 'agency_id', m.agency_id, 'name', m.name,
           'fanvue_user_uuid', m.fanvue_user_uuid, 'fanvue_handle', m.fanvue_handle,
           'connection_id', c.id, 'connection_kind', c.kind, 'connection_status', c.status,
           'connection_user_uuid', c.fanvue_user_uuid,
           'history_start', s.history_start, 'watermark', s.watermark,
           'spending_watermark', s.spending_watermark, 'backfill_completed_at', s.backfill_completed_at,
           'progress', s.progress,
           'lease_owner', s.lease_owner, 'lease_kind', s.lease_kind, 'lease_expires_at', s.lease_expires_at,
           'revenue_gross_cents', m.revenue_gross_cents, 'revenue_net_cents', m.revenue_net_cents,
           'revenue_refund_cents', m.revenue_refund_cents, 'transaction_count', m.transaction_count)
    from public.models m
    join public.fanvue_sync_state s on s.model_id = m.id
    left join public.fanvue_connections c on c.id = m.connection_id
   where m.id = p_model_id
$$;
revoke all on function private.work_item(uuid) from public;

-- Claims up to p_limit due models (stalest first) for one worker. Models reached through an agency
-- connection are scheduled exactly like personal ones. p_not_attempted_since (the run's start)
-- keeps one invocation from syncing a model twice.
create function public.fanvue_claim_models(
  p_worker text, p_limit integer, p_lease_seconds integer default 300, p_kind text default 'cron',
  p_include_not_due boolean default false, p_not_attempted_since timestamptz default null
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_ids uuid[];
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'p_limit must be between 1 and 1000' using errcode = 'FV422';
  end if;
  if p_lease_seconds is null or p_lease_seconds < 1 then
    raise exception 'p_lease_seconds must be positive' using errcode = 'FV422';
  end if;
  with due as (
    select s.model_id
      from public.fanvue_sync_state s
      join public.models m on m.id = s.model_id
      join public.fanvue_connections c on c.id = m.connection_id
     where c.status = 'active'
       and m.fanvue_user_uuid is not null
       and (s.lease_owner is null or s.lease_expires_at < now())
       and (p_include_not_due or s.next_sync_at <= now())
       and (p_not_attempted_since is null or s.last_attempt_at is null
            or s.last_attempt_at < p_not_attempted_since)
     order by s.next_sync_at, s.last_success_at nulls first, s.model_id
     limit p_limit
       for update of s skip locked
  ), claimed as (
    update public.fanvue_sync_state s
       set lease_owner = p_worker, lease_kind = p_kind,
           lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           last_attempt_at = now(), updated_at = now()
      from due
     where s.model_id = due.model_id
    returning s.model_id
  )
  select array_agg(model_id) into v_ids from claimed;
  return coalesce((select jsonb_agg(private.work_item(id)) from unnest(v_ids) as id), '[]'::jsonb);
end
$$;

-- Takes the lease of one model (force sync). Returns who holds it when it is taken.
create function public.fanvue_acquire_model(
  p_model_id uuid, p_worker text, p_lease_seconds integer default 300, p_kind text default 'force'
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_state public.fanvue_sync_state;
begin
  if p_lease_seconds is null or p_lease_seconds < 1 then
    raise exception 'p_lease_seconds must be positive' using errcode = 'FV422';
  end if;
  select * into v_state from public.fanvue_sync_state where model_id = p_model_id for update;
  if not found then
    raise exception 'model % not found', p_model_id using errcode = 'FV404';
  end if;
  if v_state.lease_owner is not null and v_state.lease_owner <> p_worker and v_state.lease_expires_at >= now() then
    return jsonb_build_object('acquired', false, 'holder', v_state.lease_owner, 'lease_kind', v_state.lease_kind,
                              'lease_expires_at', v_state.lease_expires_at);
  end if;
  update public.fanvue_sync_state
     set lease_owner = p_worker, lease_kind = p_kind,
         lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         last_attempt_at = now(), updated_at = now()
   where model_id = p_model_id;
  return jsonb_build_object('acquired', true, 'work', private.work_item(p_model_id));
end
$$;

-- Ends a lease with the outcome. Only the holder may finish (fencing).
create function public.fanvue_release_model(
  p_model_id uuid, p_worker text, p_outcome text, p_error text default null,
  p_next_sync_seconds integer default 900
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_released boolean;
begin
  if p_outcome not in ('ok', 'partial', 'failed', 'skipped', 'dry_run') then
    raise exception 'unknown outcome %', p_outcome using errcode = 'FV422';
  end if;
  update public.fanvue_sync_state
     set lease_owner = null, lease_kind = null, lease_expires_at = null,
         last_outcome = p_outcome,
         last_success_at = case when p_outcome = 'ok' then now() else last_success_at end,
         last_error = case when p_outcome = 'failed' then p_error
                           when p_outcome = 'ok' then null else last_error end,
         last_error_at = case when p_outcome = 'failed' then now() else last_error_at end,
         consecutive_failures = case when p_outcome = 'failed' then consecutive_failures + 1
                                     when p_outcome = 'ok' then 0 else consecutive_failures end,
         next_sync_at = now() + make_interval(secs => greatest(p_next_sync_seconds, 0)),
         updated_at = now()
   where model_id = p_model_id and lease_owner = p_worker;
  v_released := found;
  return jsonb_build_object('released', v_released);
end
$$;

-- Restarts history for a model (full=true): the covered range shrinks to nothing, the ledger stays,
-- and the next windows re-read everything from p_history_start. Holder only.
create function public.fanvue_reset_history(p_model_id uuid, p_worker text, p_history_start timestamptz)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
begin
  update public.fanvue_sync_state
     set history_start = p_history_start, watermark = null, spending_watermark = null,
         backfill_completed_at = null, progress = '{}'::jsonb, updated_at = now()
   where model_id = p_model_id and lease_owner = p_worker;
  if not found then
    raise exception 'lease for model % is not held by this worker', p_model_id using errcode = 'FV409';
  end if;
  return private.work_item(p_model_id);
end
$$;

-- ---------------------------------------------------------------- ingest
-- Upserts one page of normalized items for a model and, with its last page, closes the window
-- [p_window_start, p_window_end) by advancing the stream's watermark - all in one transaction.
-- The watermark only moves when the window starts inside the covered range (no gaps).
-- Pages are fetched newest first; a page that is not the last records p_resume_end (everything in
-- [p_resume_end, p_window_end) is stored) so an interrupted window resumes where it stopped.
-- A window that starts at or before history_start completes the backfill.
-- p_stream: 'earnings' or 'spending'. p_dry_run reports what would change and writes nothing.
create function public.fanvue_ingest_page(
  p_model_id uuid, p_worker text, p_stream text, p_items jsonb,
  p_window_start timestamptz default null, p_window_end timestamptz default null,
  p_last_page boolean default false, p_completes_backfill boolean default false,
  p_dry_run boolean default false, p_lease_seconds integer default 300, p_resume_end timestamptz default null
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_state public.fanvue_sync_state;
  v_received integer := coalesce(jsonb_array_length(p_items), 0);
  v_inserted integer := 0;
  v_updated integer := 0;
  v_covered timestamptz;
  v_watermark timestamptz;
  v_advanced boolean := false;
begin
  if p_stream not in ('earnings', 'spending') then
    raise exception 'unknown stream %', p_stream using errcode = 'FV422';
  end if;
  if p_last_page and (p_window_start is null or p_window_end is null or p_window_end <= p_window_start) then
    raise exception 'closing a window needs window_start < window_end' using errcode = 'FV422';
  end if;
  select * into v_state from public.fanvue_sync_state where model_id = p_model_id for update;
  if not found then
    raise exception 'model % not found', p_model_id using errcode = 'FV404';
  end if;
  if v_state.lease_owner is distinct from p_worker then
    raise exception 'lease for model % lost (held by %)', p_model_id, coalesce(v_state.lease_owner, 'nobody')
      using errcode = 'FV409';
  end if;

  if p_dry_run then
    select count(*) filter (where t.id is null),
           count(*) filter (where t.id is not null and
             (t.kind, t.transaction_date, t.source, t.gross_cents, t.net_cents, t.currency, t.order_id,
              t.order_status, t.fan_uuid, t.fan_handle, t.message_uuid, t.post_uuid)
             is distinct from
             (i.kind, i.date, i.source, i.gross, i.net, i.currency, i.order_id,
              i.order_status, i.fan_uuid, i.fan_handle, i.message_uuid, i.post_uuid))
      into v_inserted, v_updated
      from (select distinct on (x.key) x.*
              from jsonb_to_recordset(p_items) as x(key text, kind text, date timestamptz, source text,
                   gross bigint, net bigint, currency text, order_id text, order_status text, fan_uuid text,
                   fan_handle text, message_uuid text, post_uuid text)
             order by x.key) i
      left join public.fanvue_transactions t on t.model_id = p_model_id and t.dedupe_key = i.key;
    return jsonb_build_object('received', v_received, 'inserted', v_inserted, 'updated', v_updated,
                              'unchanged', v_received - v_inserted - v_updated, 'dry_run', true,
                              'watermark', case when p_stream = 'earnings' then v_state.watermark
                                                else v_state.spending_watermark end);
  end if;

  with src as (
    select distinct on (x.key) x.*
      from rows from (jsonb_to_recordset(p_items) as (key text, kind text, date timestamptz, source text,
           gross bigint, net bigint, currency text, order_id text, order_status text, fan_uuid text,
           fan_handle text, message_uuid text, post_uuid text, raw jsonb)) with ordinality
           as x(key, kind, date, source, gross, net, currency, order_id, order_status, fan_uuid, fan_handle,
                message_uuid, post_uuid, raw, pos)
     order by x.key, x.pos desc
  ), written as (
    insert into public.fanvue_transactions as t
           (model_id, dedupe_key, kind, transaction_date, source, gross_cents, net_cents, currency,
            order_id, order_status, fan_uuid, fan_handle, message_uuid, post_uuid, raw)
    select p_model_id, s.key, s.kind, s.date, s.source, s.gross, s.net, s.currency,
           s.order_id, s.order_status, s.fan_uuid, s.fan_handle, s.message_uuid, s.post_uuid, s.raw
      from src s
    on conflict on constraint fanvue_transactions_model_dedupe_key do update
       set kind = excluded.kind, transaction_date = excluded.transaction_date, source = excluded.source,
           gross_cents = excluded.gross_cents, net_cents = excluded.net_cents, currency = excluded.currency,
           order_id = excluded.order_id, order_status = excluded.order_status, fan_uuid = excluded.fan_uuid,
           fan_handle = excluded.fan_handle, message_uuid = excluded.message_uuid,
           post_uuid = excluded.post_uuid, raw = excluded.raw, updated_at = now()
     where (t.kind, t.transaction_date, t.source, t.gross_cents, t.net_cents, t.currency, t.order_id,
            t.order_status, t.fan_uuid, t.fan_handle, t.message_uuid, t.post_uuid)
           is distinct from
           (excluded.kind, excluded.transaction_date, excluded.source, excluded.gross_cents,
            excluded.net_cents, excluded.currency, excluded.order_id, excluded.order_status,
            excluded.fan_uuid, excluded.fan_handle, excluded.message_uuid, excluded.post_uuid)
    returning (t.xmax = 0) as inserted
  )
  select count(*) filter (where inserted), count(*) filter (where not inserted)
    into v_inserted, v_updated from written;

  v_watermark := case when p_stream = 'earnings' then v_state.watermark else v_state.spending_watermark end;
  if p_last_page then
    v_covered := coalesce(v_watermark, v_state.history_start, p_window_start);
    if p_window_start <= v_covered then
      v_advanced := p_window_end > coalesce(v_watermark, '-infinity'::timestamptz);
      v_watermark := greatest(coalesce(v_watermark, p_window_end), p_window_end);
    end if;
  end if;

  update public.fanvue_sync_state
     set watermark = case when p_stream = 'earnings' then v_watermark else watermark end,
         spending_watermark = case when p_stream = 'spending' then v_watermark else spending_watermark end,
         history_start = coalesce(history_start, p_window_start),
         backfill_completed_at = case when p_last_page and p_stream = 'earnings' and v_watermark >= p_window_end
                                           and (p_completes_backfill
                                                or p_window_start <= coalesce(history_start, p_window_start))
                                      then coalesce(backfill_completed_at, now())
                                      else backfill_completed_at end,
         progress = case when p_last_page then progress - p_stream
                         when p_window_start is not null and p_window_end is not null and p_resume_end is not null
                         then progress || jsonb_build_object(p_stream, jsonb_build_object(
                                'start', p_window_start, 'end', p_window_end, 'resume_end', p_resume_end))
                         else progress end,
         lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => p_lease_seconds)),
         updated_at = now()
   where model_id = p_model_id;

  return jsonb_build_object('received', v_received, 'inserted', v_inserted, 'updated', v_updated,
                            'unchanged', v_received - v_inserted - v_updated,
                            'watermark', v_watermark, 'advanced', v_advanced,
                            'revenue_gross_cents', (select revenue_gross_cents from public.models where id = p_model_id));
end
$$;

-- Recompute repairs the stored totals through the single writer AND rebuilds the model's daily
-- roll-up from the ledger, so a total that drifted (someone bypassed the trigger) is made true by
-- force-sync, which calls this under the model's lease.
create function public.fanvue_recompute_revenue(p_model_id uuid) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_model public.models;
  v_ledger record;
  v_changed boolean := false;
begin
  select * into v_model from public.models where id = p_model_id for update;
  if not found then
    raise exception 'model % not found', p_model_id using errcode = 'FV404';
  end if;
  select coalesce(sum(gross_cents) filter (where kind = 'earning'), 0)::bigint as gross,
         coalesce(sum(net_cents) filter (where kind = 'earning'), 0)::bigint as net,
         coalesce(sum(gross_cents) filter (where kind <> 'earning'), 0)::bigint as refund,
         coalesce(sum(net_cents) filter (where kind <> 'earning'), 0)::bigint as refund_net,
         count(*) filter (where kind = 'earning')::bigint as cnt,
         count(*) filter (where kind <> 'earning')::bigint as refund_cnt
    into v_ledger
    from public.fanvue_transactions where model_id = p_model_id;
  if (v_ledger.gross, v_ledger.net, v_ledger.refund, v_ledger.refund_net, v_ledger.cnt, v_ledger.refund_cnt)
     <> (v_model.revenue_gross_cents, v_model.revenue_net_cents, v_model.revenue_refund_cents,
         v_model.refund_net_cents, v_model.transaction_count, v_model.refund_count) then
    perform private.add_revenue(p_model_id,
      v_ledger.gross - v_model.revenue_gross_cents, v_ledger.net - v_model.revenue_net_cents,
      v_ledger.refund - v_model.revenue_refund_cents, v_ledger.refund_net - v_model.refund_net_cents,
      v_ledger.cnt - v_model.transaction_count, v_ledger.refund_cnt - v_model.refund_count);
    v_changed := true;
  end if;
  delete from public.fanvue_ledger_daily where model_id = p_model_id;
  insert into public.fanvue_ledger_daily (model_id, day, kind, source, item_count, gross_cents, net_cents)
  select model_id, (transaction_date at time zone 'UTC')::date, kind, source, count(*), sum(gross_cents),
         sum(net_cents)
    from public.fanvue_transactions where model_id = p_model_id
   group by 1, 2, 3, 4;
  delete from public.fanvue_ledger_monthly where model_id = p_model_id;
  insert into public.fanvue_ledger_monthly (model_id, month, kind, item_count, gross_cents, net_cents)
  select model_id, date_trunc('month', transaction_date at time zone 'UTC')::date, kind, count(*), sum(gross_cents),
         sum(net_cents)
    from public.fanvue_transactions where model_id = p_model_id
   group by 1, 2, 3;
  return jsonb_build_object('changed', v_changed, 'before_gross_cents', v_model.revenue_gross_cents,
                            'after_gross_cents', v_ledger.gross, 'ledger_count', v_ledger.cnt);
end
$$;

-- ---------------------------------------------------------------- run history
create function public.fanvue_start_run(p_kind text, p_worker text, p_budget_seconds integer default null)
returns jsonb
language sql
set search_path = public, pg_temp
as $$
  insert into public.sync_runs (kind, worker, budget_seconds) values (p_kind, p_worker, p_budget_seconds)
  returning jsonb_build_object('id', id, 'started_at', started_at)
$$;

create function public.fanvue_record_run_model(p_run_id uuid, p_model_id uuid, p_outcome text, p_stats jsonb)
returns jsonb
language sql
set search_path = public, pg_temp
as $$
  insert into public.sync_run_models as rm
         (run_id, model_id, agency_id, outcome, fetched, inserted, updated, unchanged,
          revenue_before_cents, revenue_after_cents, window_start, window_end, error, started_at, finished_at)
  select p_run_id, m.id, m.agency_id, p_outcome,
         coalesce((p_stats ->> 'fetched')::int, 0), coalesce((p_stats ->> 'inserted')::int, 0),
         coalesce((p_stats ->> 'updated')::int, 0), coalesce((p_stats ->> 'unchanged')::int, 0),
         (p_stats ->> 'revenue_before_cents')::bigint, (p_stats ->> 'revenue_after_cents')::bigint,
         (p_stats ->> 'window_start')::timestamptz, (p_stats ->> 'window_end')::timestamptz,
         p_stats ->> 'error', coalesce((p_stats ->> 'started_at')::timestamptz, now()), now()
    from public.models m where m.id = p_model_id
  on conflict (run_id, model_id) do update
     set outcome = excluded.outcome, fetched = rm.fetched + excluded.fetched,
         inserted = rm.inserted + excluded.inserted, updated = rm.updated + excluded.updated,
         unchanged = rm.unchanged + excluded.unchanged,
         revenue_after_cents = excluded.revenue_after_cents,
         window_end = excluded.window_end, error = excluded.error, finished_at = now()
  returning jsonb_build_object('run_id', run_id, 'model_id', model_id, 'outcome', outcome)
$$;

create function public.fanvue_finish_run(p_run_id uuid, p_status text, p_summary jsonb default '{}'::jsonb,
                                         p_error text default null)
returns jsonb
language sql
set search_path = public, pg_temp
as $$
  update public.sync_runs
     set status = p_status, summary = coalesce(p_summary, '{}'::jsonb), error = p_error, finished_at = now()
   where id = p_run_id
  returning jsonb_build_object('id', id, 'status', status, 'finished_at', finished_at)
$$;

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

-- ---------------------------------------------------------------- connections and tokens
create function private.connection_json(p_connection_id uuid, p_with_tokens boolean) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
           'id', c.id, 'agency_id', c.agency_id, 'kind', c.kind, 'fanvue_user_uuid', c.fanvue_user_uuid,
           'fanvue_handle', c.fanvue_handle, 'token_version', c.token_version, 'expires_at', c.expires_at,
           'scopes', to_jsonb(c.scopes), 'status', c.status, 'status_reason', c.status_reason,
           'refresh_lease_owner', c.refresh_lease_owner, 'refresh_lease_expires_at', c.refresh_lease_expires_at,
           'last_refresh_at', c.last_refresh_at, 'last_refresh_outcome', c.last_refresh_outcome,
           'last_error', c.last_error, 'last_error_at', c.last_error_at, 'token_key_id', c.token_key_id,
           'created_at', c.created_at)
         || case when p_with_tokens then jsonb_build_object('access_token_enc', c.access_token_enc,
                                                            'refresh_token_enc', c.refresh_token_enc)
                 else '{}'::jsonb end
    from public.fanvue_connections c where c.id = p_connection_id
$$;
revoke all on function private.connection_json(uuid, boolean) from public;

create function public.fanvue_get_connection(p_connection_id uuid) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select private.connection_json(p_connection_id, true)
$$;

-- Stores the tokens of a completed OAuth flow (new grant, or reconnect of an existing one).
create function public.fanvue_save_connection(
  p_agency_id uuid, p_kind text, p_fanvue_user_uuid uuid, p_handle text, p_access_enc text,
  p_refresh_enc text, p_key_id text, p_expires_at timestamptz, p_scopes text[], p_created_by uuid
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_id uuid;
begin
  insert into public.fanvue_connections as c
         (agency_id, kind, fanvue_user_uuid, fanvue_handle, access_token_enc, refresh_token_enc, token_key_id,
          expires_at, scopes, created_by, last_refresh_at, last_refresh_outcome)
  values (p_agency_id, p_kind, p_fanvue_user_uuid, p_handle, p_access_enc, p_refresh_enc, p_key_id,
          p_expires_at, coalesce(p_scopes, '{}'), p_created_by, now(), 'connected')
  on conflict on constraint fanvue_connections_agency_user_kind_key do update
     set fanvue_handle = excluded.fanvue_handle, access_token_enc = excluded.access_token_enc,
         refresh_token_enc = excluded.refresh_token_enc, token_key_id = excluded.token_key_id,
         token_version = c.token_version + 1, expires_at = excluded.expires_at, scopes = excluded.scopes,
         status = 'active', status_reason = null, refresh_lease_owner = null, refresh_lease_expires_at = null,
         last_refresh_at = now(), last_refresh_outcome = 'reconnected', last_error = null, last_error_at = null,
         updated_at = now()
  returning id into v_id;
  return private.connection_json(v_id, false);
end
$$;

-- Links creators to a connection as models of the agency (creates the missing ones). Items:
-- [{"fanvue_user_uuid", "handle", "name", "model_id"?}]; model_id targets an existing model.
-- A model already linked to the same Fanvue creator is a clear FV409 naming that model.
create function public.fanvue_link_models(p_agency_id uuid, p_connection_id uuid, p_creators jsonb)
returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_item record;
  v_id uuid;
  v_other record;
  v_out jsonb := '[]'::jsonb;
begin
  if not exists (select 1 from public.fanvue_connections where id = p_connection_id and agency_id = p_agency_id) then
    raise exception 'connection % does not belong to agency %', p_connection_id, p_agency_id using errcode = 'FV404';
  end if;
  for v_item in
    select * from jsonb_to_recordset(p_creators) as x(fanvue_user_uuid uuid, handle text, name text, model_id uuid)
  loop
    if v_item.model_id is not null then
      select m.id, m.name into v_other from public.models m
       where m.agency_id = p_agency_id and m.fanvue_user_uuid = v_item.fanvue_user_uuid and m.id <> v_item.model_id;
      if found then
        raise exception 'Fanvue creator @% is already linked to model "%" (%) of this agency; connect that model '
                        'instead, or remove its link first', coalesce(v_item.handle, v_item.fanvue_user_uuid::text),
                        v_other.name, v_other.id using errcode = 'FV409';
      end if;
      update public.models
         set fanvue_user_uuid = v_item.fanvue_user_uuid, fanvue_handle = v_item.handle,
             connection_id = p_connection_id
       where id = v_item.model_id and agency_id = p_agency_id
      returning id into v_id;
      if v_id is null then
        raise exception 'model % not found in agency', v_item.model_id using errcode = 'FV404';
      end if;
    else
      insert into public.models as m (agency_id, name, fanvue_user_uuid, fanvue_handle, connection_id)
      values (p_agency_id, coalesce(nullif(v_item.name, ''), v_item.handle, v_item.fanvue_user_uuid::text),
              v_item.fanvue_user_uuid, v_item.handle, p_connection_id)
      on conflict on constraint models_agency_fanvue_user_key do update
         set fanvue_handle = excluded.fanvue_handle,
             -- a creator's own (personal) connection wins over an agency one
             connection_id = case
               when (select kind from public.fanvue_connections where id = m.connection_id) = 'creator'
                    and (select status from public.fanvue_connections where id = m.connection_id) = 'active'
                    and m.connection_id <> excluded.connection_id
               then m.connection_id else excluded.connection_id end
      returning id into v_id;
    end if;
    v_out := v_out || jsonb_build_object('model_id', v_id, 'fanvue_user_uuid', v_item.fanvue_user_uuid);
  end loop;
  return v_out;
exception
  when unique_violation then  -- a concurrent link won the race: same answer as the check above
    raise exception 'this Fanvue creator is already linked to another model of this agency (%)',
                    sqlerrm using errcode = 'FV409';
end
$$;

-- One statement, one transaction: role re-check, grant, links. Raises FV403 when the user is no
-- longer an owner or admin of the agency, FV409 when a model already holds the creator.
create function public.fanvue_complete_connection(
  p_user_id uuid, p_agency_id uuid, p_kind text, p_fanvue_user_uuid uuid, p_handle text, p_access_enc text,
  p_refresh_enc text, p_key_id text, p_expires_at timestamptz, p_scopes text[], p_creators jsonb
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_connection jsonb;
  v_linked jsonb := '[]'::jsonb;
begin
  perform 1 from public.profiles p
   where p.id = p_user_id and p.agency_id = p_agency_id and private.access_role(p.role) = 'admin'
   for share;
  if not found then
    raise exception 'the user who started this connection is no longer an owner or admin of the agency'
          using errcode = 'FV403';
  end if;
  v_connection := public.fanvue_save_connection(p_agency_id, p_kind, p_fanvue_user_uuid, p_handle, p_access_enc,
                                                p_refresh_enc, p_key_id, p_expires_at, p_scopes, p_user_id);
  if jsonb_array_length(coalesce(p_creators, '[]'::jsonb)) > 0 then
    v_linked := public.fanvue_link_models(p_agency_id, (v_connection ->> 'id')::uuid, p_creators);
  end if;
  return jsonb_build_object('connection', v_connection, 'models', v_linked);
end
$$;

-- Single-flight refresh, step 1: take the connection's refresh lease if a refresh is needed.
-- outcome: 'claimed' (caller refreshes), 'fresh' (no refresh needed), 'busy' (someone else is
-- refreshing: wait and re-read), 'inactive' (needs reconnect or revoked).
-- p_force refreshes even a fresh token, but only while the version the caller saw is still current,
-- so N callers that all got a 401 on the same token cause exactly one refresh.
create function public.fanvue_claim_token_refresh(
  p_connection_id uuid, p_owner text, p_lease_seconds integer default 30, p_margin_seconds integer default 300,
  p_force boolean default false, p_seen_version integer default null
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_conn public.fanvue_connections;
  v_needed boolean;
begin
  select * into v_conn from public.fanvue_connections where id = p_connection_id for update;
  if not found then
    raise exception 'connection % not found', p_connection_id using errcode = 'FV404';
  end if;
  if v_conn.status <> 'active' then
    return jsonb_build_object('outcome', 'inactive', 'connection', private.connection_json(p_connection_id, false));
  end if;
  if v_conn.refresh_lease_owner is not null and v_conn.refresh_lease_owner <> p_owner
     and v_conn.refresh_lease_expires_at >= now() then
    return jsonb_build_object('outcome', 'busy', 'connection', private.connection_json(p_connection_id, false));
  end if;
  v_needed := v_conn.expires_at is null
              or v_conn.expires_at <= now() + make_interval(secs => p_margin_seconds)
              or (p_force and (p_seen_version is null or p_seen_version = v_conn.token_version));
  if not v_needed then
    return jsonb_build_object('outcome', 'fresh', 'connection', private.connection_json(p_connection_id, true));
  end if;
  update public.fanvue_connections
     set refresh_lease_owner = p_owner,
         refresh_lease_expires_at = now() + make_interval(secs => p_lease_seconds), updated_at = now()
   where id = p_connection_id;
  return jsonb_build_object('outcome', 'claimed', 'connection', private.connection_json(p_connection_id, true));
end
$$;

-- Step 2a: persist the rotated pair (before the new access token is used) and release the lease.
-- Compare-and-swap on token_version: only the rotation of the version we claimed is stored.
create function public.fanvue_store_token_refresh(
  p_connection_id uuid, p_owner text, p_expected_version integer, p_access_enc text, p_refresh_enc text,
  p_key_id text, p_expires_at timestamptz, p_scopes text[] default null
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
begin
  update public.fanvue_connections
     set access_token_enc = p_access_enc, refresh_token_enc = coalesce(p_refresh_enc, refresh_token_enc),
         token_key_id = p_key_id, expires_at = p_expires_at, scopes = coalesce(p_scopes, scopes),
         token_version = token_version + 1, status = 'active', status_reason = null,
         refresh_lease_owner = null, refresh_lease_expires_at = null,
         last_refresh_at = now(), last_refresh_outcome = 'ok', last_error = null, last_error_at = null,
         updated_at = now()
   where id = p_connection_id and token_version = p_expected_version;
  if not found then
    raise exception 'token of connection % changed since version %', p_connection_id, p_expected_version
      using errcode = 'FV409';
  end if;
  return private.connection_json(p_connection_id, false);
end
$$;

-- Step 2b: record a failed refresh. With p_invalid_grant the row is re-read here, atomically: only if
-- the refresh token we used is still the stored one (no sibling rotated it) does the connection
-- become needs_reconnect, with the reason. Returns the current row so the caller can retry with a
-- sibling's fresh token.
create function public.fanvue_fail_token_refresh(
  p_connection_id uuid, p_owner text, p_expected_version integer, p_error text, p_invalid_grant boolean
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_dead boolean;
begin
  update public.fanvue_connections
     set status = case when p_invalid_grant and token_version = p_expected_version then 'needs_reconnect'
                       else status end,
         status_reason = case when p_invalid_grant and token_version = p_expected_version
                              then left(p_error, 500) else status_reason end,
         last_refresh_outcome = case when p_invalid_grant then 'invalid_grant' else 'error' end,
         last_error = left(p_error, 500), last_error_at = now(),
         refresh_lease_owner = case when refresh_lease_owner = p_owner then null else refresh_lease_owner end,
         refresh_lease_expires_at = case when refresh_lease_owner = p_owner then null
                                         else refresh_lease_expires_at end,
         updated_at = now()
   where id = p_connection_id
  returning status = 'needs_reconnect' into v_dead;
  return jsonb_build_object('needs_reconnect', coalesce(v_dead, false),
                            'connection', private.connection_json(p_connection_id, true));
end
$$;

-- Connections the cron should refresh now: expiring within the margin, or idle longer than
-- p_idle_seconds (a long-unused refresh token must not expire).
create function public.fanvue_connections_due_refresh(p_margin_seconds integer, p_idle_seconds integer,
                                                      p_limit integer default 100)
returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(c.id order by c.expires_at nulls first), '[]'::jsonb)
    from (select id, expires_at from public.fanvue_connections
           where status = 'active'
             and (expires_at is null or expires_at <= now() + make_interval(secs => p_margin_seconds)
                  or coalesce(last_refresh_at, created_at) <= now() - make_interval(secs => p_idle_seconds))
           order by expires_at nulls first
           limit p_limit) c
$$;

-- Key rotation: ciphertexts not under the current key, and a version-checked replacement.
create function public.fanvue_token_ciphertexts(p_not_key_id text, p_limit integer default 500) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'token_version', c.token_version,
           'access_token_enc', c.access_token_enc, 'refresh_token_enc', c.refresh_token_enc,
           'token_key_id', c.token_key_id)), '[]'::jsonb)
    from (select * from public.fanvue_connections
           where token_key_id is distinct from p_not_key_id
             and (access_token_enc is not null or refresh_token_enc is not null)
           limit p_limit) c
$$;

create function public.fanvue_replace_token_ciphertexts(
  p_connection_id uuid, p_expected_version integer, p_access_enc text, p_refresh_enc text, p_key_id text
) returns jsonb
language sql
set search_path = public, pg_temp
as $$
  with changed as (
    update public.fanvue_connections
       set access_token_enc = p_access_enc, refresh_token_enc = p_refresh_enc, token_key_id = p_key_id,
           updated_at = now()
     where id = p_connection_id and token_version = p_expected_version
    returning id
  )
  select jsonb_build_object('replaced', exists (select 1 from changed))
$$;

-- OAuth state: true the first time a state id is redeemed, false on any replay.
create function public.fanvue_consume_oauth_state(p_state_id text, p_expires_at timestamptz) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_first boolean;
begin
  if p_expires_at is null or p_expires_at < now() then
    return jsonb_build_object('first_use', false);
  end if;
  delete from public.oauth_state_uses where expires_at < now() - interval '1 day';
  insert into public.oauth_state_uses (state_id, expires_at) values (p_state_id, p_expires_at)
  on conflict (state_id) do nothing;
  v_first := found;
  return jsonb_build_object('first_use', v_first);
end
$$;

-- ---------------------------------------------------------------- webhooks and fan-out
-- Records one verified delivery and, the first time only, marks every model of the recipient due now
-- (in every agency that manages the creator), atomically. A replay returns duplicate = true and the
-- models the original marked, and touches nothing.
create function public.fanvue_record_webhook(
  p_signature_t bigint, p_delivery_hash text, p_recipient_uuid uuid, p_event_type text, p_payload jsonb
) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_id uuid;
  v_models uuid[];
  v_previous public.fanvue_webhook_events;
begin
  if p_delivery_hash is null or p_delivery_hash !~ '^[0-9a-f]{64}$' then
    raise exception 'delivery hash must be 64 lower-case hex digits' using errcode = 'FV422';
  end if;
  if p_signature_t is null or p_payload is null or jsonb_typeof(p_payload) <> 'object' then
    raise exception 'a webhook needs a signature time and an object payload' using errcode = 'FV422';
  end if;

  insert into public.fanvue_webhook_events (signature_t, delivery_hash, recipient_uuid, event_type, payload)
  values (p_signature_t, p_delivery_hash, p_recipient_uuid,
          coalesce(nullif(left(p_event_type, 100), ''), 'unknown'), p_payload)
  on conflict on constraint fanvue_webhook_events_delivery_hash_key do nothing
  returning id into v_id;

  if v_id is null then
    select * into v_previous from public.fanvue_webhook_events where delivery_hash = p_delivery_hash;
    return jsonb_build_object('duplicate', true, 'event_id', v_previous.id,
                              'event_type', v_previous.event_type,
                              'model_ids', to_jsonb(coalesce(v_previous.model_ids, '{}'::uuid[])));
  end if;

  if p_recipient_uuid is not null then
    -- least(): a model already overdue keeps its place at the front of the queue.
    with due as (
      update public.fanvue_sync_state s
         set next_sync_at = least(s.next_sync_at, now()), updated_at = now()
        from public.models m
       where m.id = s.model_id and m.fanvue_user_uuid = p_recipient_uuid
      returning s.model_id
    )
    select coalesce(array_agg(model_id order by model_id), '{}'::uuid[]) into v_models from due;
  else
    v_models := '{}'::uuid[];
  end if;

  update public.fanvue_webhook_events set model_ids = v_models where id = v_id;
  delete from public.fanvue_webhook_events where received_at < now() - interval '30 days';

  return jsonb_build_object('duplicate', false, 'event_id', v_id,
                            'event_type', coalesce(nullif(left(p_event_type, 100), ''), 'unknown'),
                            'model_ids', to_jsonb(v_models));
end
$$;

-- Freshness: what the webhook needs to decide, without taking a lease, whether a sync of a model
-- can run now (connection active, backfill done, watermark, who holds the lease).
create function public.fanvue_webhook_targets(p_model_id uuid) returns jsonb
language sql stable
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', m.id, 'name', m.name, 'agency_id', m.agency_id, 'connection_status', c.status,
           'watermark', s.watermark, 'backfill_completed_at', s.backfill_completed_at,
           'lease_held', s.lease_owner is not null and s.lease_expires_at >= now(),
           'lease_kind', s.lease_kind, 'revenue_gross_cents', m.revenue_gross_cents) order by m.id), '[]'::jsonb)
    from public.models m
    join public.fanvue_sync_state s on s.model_id = m.id
    left join public.fanvue_connections c on c.id = m.connection_id
   where m.id = p_model_id
$$;

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
