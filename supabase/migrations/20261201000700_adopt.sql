-- Adopting an existing dashboard database, the data half (run by `python -m lib.dev adopt`, which
-- encrypts the plaintext tokens it read and hands them over here). One call, one transaction: a run
-- killed midway changes nothing, and a second run finds nothing left to do.

-- Where the older app kept tokens in plaintext: (table, column). The columns are dropped once empty.
create function private.legacy_token_columns() returns table (table_name text, column_name text)
language sql stable
set search_path = public, pg_temp
as $$
  select c.table_name::text, c.column_name::text
    from information_schema.columns c
   where c.table_schema = 'public'
     and (c.table_name, c.column_name) in (('models', 'fanvue_access_token'), ('models', 'fanvue_refresh_token'),
                                           ('models', 'fanvue_api_key'),
                                           ('agency_fanvue_connections', 'fanvue_access_token'),
                                           ('agency_fanvue_connections', 'fanvue_refresh_token'))
$$;

-- p_imports: [{"agency_id", "kind", "fanvue_user_uuid", "handle", "access_enc", "refresh_enc", "key_id",
--              "expires_at", "status", "status_reason", "created_by"}], one per plaintext grant found.
-- Stores the grants (an existing connection for the same creator and kind is kept), links every
-- unlinked model that has a Fanvue id (its own grant first, else its agency's), schedules a full
-- backfill for the models it linked, records the outcome per model, then empties and drops the
-- plaintext token columns. Returns what it changed.
create function public.fanvue_adopt(p_imports jsonb) returns jsonb
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_created integer;
  v_linked uuid[];
  r record;
  v_dropped text[] := '{}';
begin
  with added as (
    insert into public.fanvue_connections as c
           (agency_id, kind, fanvue_user_uuid, fanvue_handle, access_token_enc, refresh_token_enc, token_key_id,
            expires_at, status, status_reason, created_by, last_refresh_outcome)
    select i.agency_id, i.kind, i.fanvue_user_uuid, i.handle, i.access_enc, i.refresh_enc, i.key_id,
           i.expires_at, coalesce(i.status, 'active'), i.status_reason, i.created_by, 'imported'
      from jsonb_to_recordset(coalesce(p_imports, '[]'::jsonb)) as i(agency_id uuid, kind text,
             fanvue_user_uuid uuid, handle text, access_enc text, refresh_enc text, key_id text,
             expires_at timestamptz, status text, status_reason text, created_by uuid)
    on conflict on constraint fanvue_connections_agency_user_kind_key do nothing
    returning 1
  )
  select count(*) into v_created from added;

  with linked as (
    update public.models m
       set connection_id = coalesce(
             (select c.id from public.fanvue_connections c
               where c.agency_id = m.agency_id and c.kind = 'creator' and c.fanvue_user_uuid = m.fanvue_user_uuid),
             (select c.id from public.fanvue_connections c
               where c.agency_id = m.agency_id and c.kind = 'agency'
               order by (c.fanvue_user_uuid = m.fanvue_user_uuid) desc, c.created_at limit 1))
     where m.connection_id is null and m.fanvue_user_uuid is not null
       and exists (select 1 from public.fanvue_connections c where c.agency_id = m.agency_id
                      and (c.kind = 'agency' or c.fanvue_user_uuid = m.fanvue_user_uuid))
    returning m.id
  )
  select coalesce(array_agg(id), '{}') into v_linked from linked;

  update public.fanvue_sync_state
     set history_start = null, watermark = null, spending_watermark = null, backfill_completed_at = null,
         progress = '{}'::jsonb, next_sync_at = now(), updated_at = now()
   where model_id = any(v_linked);

  insert into public.fanvue_adoption (model_id, connection_id, outcome)
  select m.id, m.connection_id,
         case when m.connection_id is not null then 'linked; full backfill scheduled'
              when m.fanvue_user_uuid is null then 'not connected: no Fanvue account on record'
              else 'not connected: no grant for this creator' end
    from public.models m
  on conflict (model_id) do update
     set connection_id = excluded.connection_id, outcome = excluded.outcome, adopted_at = now()
   where public.fanvue_adoption.connection_id is distinct from excluded.connection_id;

  for r in select * from private.legacy_token_columns() loop
    execute format('alter table public.%I alter column %I drop not null', r.table_name, r.column_name);
    execute format('update public.%I set %I = null where %I is not null', r.table_name, r.column_name, r.column_name);
    execute format('alter table public.%I drop column %I', r.table_name, r.column_name);
    v_dropped := v_dropped || format('%s.%s', r.table_name, r.column_name);
  end loop;

  return jsonb_build_object('connections_created', v_created, 'models_linked', to_jsonb(v_linked),
                            'columns_dropped', to_jsonb(v_dropped));
end
$$;
