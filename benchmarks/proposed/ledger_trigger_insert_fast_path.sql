-- PROPOSED FIX (measured by benchmarks/full_sync.py --sides ours,ours-fixed; not a migration):
-- private.ledger_changed() builds a jsonb array of every inserted row (jsonb_agg of
-- jsonb_build_object) and private.apply_ledger_delta() parses it back twice (jsonb_to_recordset),
-- ~28% of fanvue_ingest_page's time on a backfill (pg_stat_statements, 100k items). For INSERT (the
-- backfill path) aggregate the transition table directly; UPDATE and DELETE keep the jsonb path.
-- Same effects: model totals only through private.add_revenue, roll-up rows only for existing models.
create or replace function private.ledger_changed() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_rows jsonb;
begin
  if tg_op = 'INSERT' then
    perform private.add_revenue(d.model_id, d.g, d.n, d.rg, d.rn, d.c, d.rc)
       from (select r.model_id,
                    coalesce(sum(r.gross_cents) filter (where r.kind = 'earning'), 0)::bigint  as g,
                    coalesce(sum(r.net_cents)   filter (where r.kind = 'earning'), 0)::bigint  as n,
                    coalesce(sum(r.gross_cents) filter (where r.kind <> 'earning'), 0)::bigint as rg,
                    coalesce(sum(r.net_cents)   filter (where r.kind <> 'earning'), 0)::bigint as rn,
                    count(*) filter (where r.kind = 'earning')  as c,
                    count(*) filter (where r.kind <> 'earning') as rc
               from new_rows r
              group by r.model_id) d;
    insert into public.fanvue_ledger_daily as ld (model_id, day, kind, source, item_count, gross_cents, net_cents)
    select r.model_id, (r.transaction_date at time zone 'UTC')::date, r.kind, r.source,
           count(*), sum(r.gross_cents), sum(r.net_cents)
      from new_rows r
     where exists (select 1 from public.models m where m.id = r.model_id)
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
