-- What a dashboard reads besides the tables: the revenue chart RPC, and for a model adopted from an
-- older database, the legacy figure next to the ledger's and the reasons they differ.

-- Revenue per UTC day and type for the dashboard chart, from the ledger (earnings, gross USD).
-- SECURITY INVOKER: it runs with the caller's rights, so RLS limits it to the caller's agency
-- whatever p_agency_id says. The one function of this schema that dashboard users may execute.
create or replace function public.get_revenue_by_date_range(
  p_agency_id uuid, p_model_id uuid default null,
  p_start_date timestamptz default now() - interval '30 days', p_end_date timestamptz default now()
) returns table (date date, subscriptions numeric, tips numeric, messages numeric, posts numeric, total numeric)
language sql stable
set search_path = public, pg_temp
as $$
  select (t.transaction_date at time zone 'UTC')::date,
         coalesce(sum(t.amount) filter (where t.transaction_type = 'subscription'), 0),
         coalesce(sum(t.amount) filter (where t.transaction_type = 'tip'), 0),
         coalesce(sum(t.amount) filter (where t.transaction_type = 'message'), 0),
         coalesce(sum(t.amount) filter (where t.transaction_type = 'post'), 0),
         coalesce(sum(t.amount), 0)
    from public.fanvue_transactions t
   where t.agency_id = p_agency_id
     and t.kind = 'earning'
     and (p_model_id is null or t.model_id = p_model_id)
     and t.transaction_date >= p_start_date
     and t.transaction_date <= p_end_date
   group by 1
   order by 1
$$;

-- The legacy figure of one model next to the ledger's, and why they differ, from the rows:
-- a sale's identity is (date, Fanvue source, gross cents, fan), whatever key format stored it.
--   duplicates: legacy rows beyond the first of each identity (how many, how much);
--   misfiled: the model's legacy sales absent from its ledger but present in another model's;
--   zero_amount: legacy rows of 0.00;
--   never_fetched: ledger earnings of the model absent from its legacy rows;
--   not_in_fanvue: legacy sales found in no ledger of the agency (only meaningful after a backfill).
-- legacy is null when the database had no older ledger.
create function public.fanvue_legacy_facts(p_model_id uuid) returns jsonb
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  v_model public.models;
  v_state public.fanvue_sync_state;
  v_conn public.fanvue_connections;
  v_legacy jsonb;
begin
  select * into v_model from public.models where id = p_model_id;
  if not found then
    raise exception 'model % not found', p_model_id using errcode = 'FV404';
  end if;
  select * into v_state from public.fanvue_sync_state where model_id = p_model_id;
  select * into v_conn from public.fanvue_connections where id = v_model.connection_id;
  if to_regclass('public.fanvue_transactions_legacy') is not null then
    execute $q$
      with legacy as (
        select transaction_date as d, coalesce(description, transaction_type, '') as src,
               round(amount * 100)::bigint as g, coalesce(fan_id, '') as fan
          from public.fanvue_transactions_legacy where model_id = $1
      ), sales as (
        select d, src, g, fan, count(*) as n from legacy group by 1, 2, 3, 4
      ), mine as (
        select transaction_date as d, source as src, gross_cents as g, coalesce(fan_uuid, '') as fan
          from public.fanvue_transactions where model_id = $1 and kind = 'earning'
      ), others as (
        select t.transaction_date as d, t.source as src, t.gross_cents as g, coalesce(t.fan_uuid, '') as fan,
               m.name
          from public.fanvue_transactions t join public.models m on m.id = t.model_id
         where t.model_id <> $1 and m.agency_id = $2 and t.kind = 'earning'
      ), misfiled as (
        select s.*, (select min(o.name) from others o where (o.d, o.src, o.g, o.fan) = (s.d, s.src, s.g, s.fan)) as owner
          from sales s
         where not exists (select 1 from mine x where (x.d, x.src, x.g, x.fan) = (s.d, s.src, s.g, s.fan))
      )
      select jsonb_build_object(
        'rows', (select count(*) from legacy),
        'rows_cents', (select coalesce(sum(g), 0) from legacy),
        'sales', (select count(*) from sales),
        'sales_cents', (select coalesce(sum(g), 0) from sales),
        'duplicates', jsonb_build_object('rows', (select coalesce(sum(n - 1), 0) from sales),
                                         'cents', (select coalesce(sum((n - 1) * g), 0) from sales)),
        'zero_amount', jsonb_build_object('rows', (select count(*) from legacy where g = 0)),
        'misfiled', jsonb_build_object(
          'sales', (select count(*) from misfiled where owner is not null),
          'cents', (select coalesce(sum(g), 0) from misfiled where owner is not null),
          'belongs_to', (select coalesce(jsonb_agg(distinct owner), '[]'::jsonb) from misfiled where owner is not null)),
        'not_in_fanvue', jsonb_build_object(
          'sales', (select count(*) from misfiled where owner is null),
          'cents', (select coalesce(sum(g), 0) from misfiled where owner is null)),
        'never_fetched', jsonb_build_object(
          'sales', (select count(*) from mine x
                     where not exists (select 1 from sales s where (s.d, s.src, s.g, s.fan) = (x.d, x.src, x.g, x.fan))),
          'cents', (select coalesce(sum(x.g), 0) from mine x
                     where not exists (select 1 from sales s where (s.d, s.src, s.g, s.fan) = (x.d, x.src, x.g, x.fan)))))
    $q$ into v_legacy using p_model_id, v_model.agency_id;
  end if;
  return jsonb_build_object(
    'model', jsonb_build_object('id', v_model.id, 'name', v_model.name, 'agency_id', v_model.agency_id,
                                'fanvue_user_uuid', v_model.fanvue_user_uuid),
    'connected', v_conn.id is not null,
    'connection_status', v_conn.status, 'connection_reason', v_conn.status_reason,
    'legacy_figure_cents', v_model.legacy_revenue_cents,
    'showing_legacy_figure', v_model.legacy_revenue_pending,
    'revenue_total', v_model.revenue_total,
    'ledger_cents', v_model.revenue_gross_cents,
    'ledger_count', v_model.transaction_count,
    'backfill_completed_at', v_state.backfill_completed_at,
    'legacy', v_legacy);
end
$$;
