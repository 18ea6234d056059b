-- The ledger keeps the model totals and the daily and monthly roll-ups true by itself: every change to
-- fanvue_transactions, whoever makes it, updates them in the same transaction. The only statement in
-- the schema that writes the revenue columns of models is in private.add_revenue.

create function private.add_revenue(
  p_model_id uuid, p_gross bigint, p_net bigint, p_refund bigint, p_refund_net bigint,
  p_count bigint, p_refund_count bigint
) returns void
language sql
set search_path = public, pg_temp
as $$
  update public.models
     set revenue_gross_cents  = revenue_gross_cents + p_gross,
         revenue_net_cents    = revenue_net_cents + p_net,
         revenue_refund_cents = revenue_refund_cents + p_refund,
         refund_net_cents     = refund_net_cents + p_refund_net,
         transaction_count    = transaction_count + p_count,
         refund_count         = refund_count + p_refund_count,
         revenue_updated_at   = now()
   where id = p_model_id
$$;
revoke all on function private.add_revenue(uuid, bigint, bigint, bigint, bigint, bigint, bigint) from public;

-- Applies signed row deltas (sign +1 for new rows, -1 for old rows) to totals and roll-up.
create function private.apply_ledger_delta(p_rows jsonb) returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
  perform private.add_revenue(d.model_id, d.g, d.n, d.rg, d.rn, d.c, d.rc)
     from (
       select r.model_id,
              sum(r.sign * r.gross_cents) filter (where r.kind = 'earning')::bigint  as g,
              sum(r.sign * r.net_cents)   filter (where r.kind = 'earning')::bigint  as n,
              sum(r.sign * r.gross_cents) filter (where r.kind <> 'earning')::bigint as rg,
              sum(r.sign * r.net_cents)   filter (where r.kind <> 'earning')::bigint as rn,
              sum(r.sign) filter (where r.kind = 'earning')::bigint  as c,
              sum(r.sign) filter (where r.kind <> 'earning')::bigint as rc
         from jsonb_to_recordset(p_rows) as r(model_id uuid, sign int, kind text, gross_cents bigint, net_cents bigint)
        group by r.model_id
     ) raw_delta
     cross join lateral (
       select raw_delta.model_id, coalesce(raw_delta.g, 0) as g, coalesce(raw_delta.n, 0) as n,
              coalesce(raw_delta.rg, 0) as rg, coalesce(raw_delta.rn, 0) as rn,
              coalesce(raw_delta.c, 0) as c, coalesce(raw_delta.rc, 0) as rc
     ) d
    where (d.g, d.n, d.rg, d.rn, d.c, d.rc) <> (0, 0, 0, 0, 0, 0);

  insert into public.fanvue_ledger_daily as ld (model_id, day, kind, source, item_count, gross_cents, net_cents)
  select r.model_id, (r.transaction_date at time zone 'UTC')::date, r.kind, r.source,
         sum(r.sign), sum(r.sign * r.gross_cents), sum(r.sign * r.net_cents)
    from jsonb_to_recordset(p_rows) as r(model_id uuid, sign int, kind text, source text,
                                         transaction_date timestamptz, gross_cents bigint, net_cents bigint)
   where exists (select 1 from public.models m where m.id = r.model_id)  -- not while a model is deleted
   group by 1, 2, 3, 4
  having sum(r.sign) <> 0 or sum(r.sign * r.gross_cents) <> 0 or sum(r.sign * r.net_cents) <> 0
  on conflict (model_id, day, kind, source) do update
     set item_count  = ld.item_count + excluded.item_count,
         gross_cents = ld.gross_cents + excluded.gross_cents,
         net_cents   = ld.net_cents + excluded.net_cents;

  insert into public.fanvue_ledger_monthly as lm (model_id, month, kind, item_count, gross_cents, net_cents)
  select r.model_id, date_trunc('month', r.transaction_date at time zone 'UTC')::date, r.kind,
         sum(r.sign), sum(r.sign * r.gross_cents), sum(r.sign * r.net_cents)
    from jsonb_to_recordset(p_rows) as r(model_id uuid, sign int, kind text,
                                         transaction_date timestamptz, gross_cents bigint, net_cents bigint)
   where exists (select 1 from public.models m where m.id = r.model_id)
   group by 1, 2, 3
  having sum(r.sign) <> 0 or sum(r.sign * r.gross_cents) <> 0 or sum(r.sign * r.net_cents) <> 0
  on conflict (model_id, month, kind) do update
     set item_count  = lm.item_count + excluded.item_count,
         gross_cents = lm.gross_cents + excluded.gross_cents,
         net_cents   = lm.net_cents + excluded.net_cents;
end
$$;
revoke all on function private.apply_ledger_delta(jsonb) from public;

-- An INSERT statement's delta is its new rows: aggregate the transition table directly, once per
-- statement, instead of building a jsonb array of every row and parsing it back. Updates and deletes
-- (rare: an order changing status, a model removed) keep the signed-delta path.
create function private.ledger_changed() returns trigger
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
    insert into public.fanvue_ledger_monthly as lm (model_id, month, kind, item_count, gross_cents, net_cents)
    select n.model_id, date_trunc('month', n.transaction_date at time zone 'UTC')::date, n.kind,
           count(*), sum(n.gross_cents), sum(n.net_cents)
      from new_rows n
     where exists (select 1 from public.models m where m.id = n.model_id)
     group by 1, 2, 3
    on conflict (model_id, month, kind) do update
       set item_count  = lm.item_count + excluded.item_count,
           gross_cents = lm.gross_cents + excluded.gross_cents,
           net_cents   = lm.net_cents + excluded.net_cents;
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

create trigger fanvue_transactions_after_insert
  after insert on public.fanvue_transactions
  referencing new table as new_rows
  for each statement execute function private.ledger_changed();
create trigger fanvue_transactions_after_update
  after update on public.fanvue_transactions
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.ledger_changed();
create trigger fanvue_transactions_after_delete
  after delete on public.fanvue_transactions
  referencing old table as old_rows
  for each statement execute function private.ledger_changed();

-- Every model has a sync state row from the moment it exists, so the cron can never miss it.
create function private.model_created() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
  insert into public.fanvue_sync_state (model_id) values (new.id);
  return null;
end
$$;
revoke all on function private.model_created() from public;

create trigger models_after_insert
  after insert on public.models
  for each row execute function private.model_created();

-- Models that existed before this schema get their sync state row here.
insert into public.fanvue_sync_state (model_id) select id from public.models;

-- A ledger row carries its model's agency (the column dashboards filter on).
create function private.ledger_row_agency() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
  new.agency_id := (select m.agency_id from public.models m where m.id = new.model_id);
  return new;
end
$$;
revoke all on function private.ledger_row_agency() from public;

create trigger fanvue_transactions_set_agency
  before insert or update of model_id on public.fanvue_transactions
  for each row execute function private.ledger_row_agency();

-- No $0 window: an adopted model shows its old figure until its first full backfill completes, and
-- the ledger total from the same transaction that completes it.
create function private.backfill_completed() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
  update public.models set legacy_revenue_pending = false where id = new.model_id and legacy_revenue_pending;
  return null;
end
$$;
revoke all on function private.backfill_completed() from public;

create trigger fanvue_sync_state_backfill_completed
  after update of backfill_completed_at on public.fanvue_sync_state
  for each row when (old.backfill_completed_at is null and new.backfill_completed_at is not null)
  execute function private.backfill_completed();
