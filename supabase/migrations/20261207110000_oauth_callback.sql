-- The OAuth callback's database step, all or nothing: re-check that the user who started the flow is
-- still an owner or admin of the agency, store the grant and link the model(s) in one transaction.
-- A model already linked to the same Fanvue creator is a clear FV409 naming that model, and nothing
-- (no connection, no token) is left behind.

create or replace function public.fanvue_link_models(p_agency_id uuid, p_connection_id uuid, p_creators jsonb)
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
revoke all on function public.fanvue_link_models(uuid, uuid, jsonb) from public;
revoke all on function public.fanvue_link_models(uuid, uuid, jsonb) from anon;
revoke all on function public.fanvue_link_models(uuid, uuid, jsonb) from authenticated;
grant execute on function public.fanvue_link_models(uuid, uuid, jsonb) to service_role;

-- One statement, one transaction: role re-check, grant, links. Raises FV403 when the user is no
-- longer an owner or admin of the agency, FV409 when a model already holds the creator.
create or replace function public.fanvue_complete_connection(
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
revoke all on function public.fanvue_complete_connection(uuid, uuid, text, uuid, text, text, text, text, timestamptz,
                                                         text[], jsonb) from public;
revoke all on function public.fanvue_complete_connection(uuid, uuid, text, uuid, text, text, text, text, timestamptz,
                                                         text[], jsonb) from anon;
revoke all on function public.fanvue_complete_connection(uuid, uuid, text, uuid, text, text, text, text, timestamptz,
                                                         text[], jsonb) from authenticated;
grant execute on function public.fanvue_complete_connection(uuid, uuid, text, uuid, text, text, text, text,
                                                            timestamptz, text[], jsonb) to service_role;
