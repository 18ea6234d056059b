-- Fanvue webhook deliveries (issue 7, F12). A delivery is only a trigger: it is recorded once and
-- marks the recipient creator's models due for the next sync. Nothing here writes revenue (F2): the
-- ledger is filled by the sync from /insights/earnings only.
--
-- Replay safety: delivery_hash = sha256("<t>.<raw body>") of a verified signature. The same signed
-- delivery is recorded once; a replay is acknowledged as a duplicate and changes nothing. Signatures
-- older than 5 minutes are refused before they get here, so rows older than 30 days are pruned.

create table public.fanvue_webhook_events (
  id             uuid primary key default gen_random_uuid(),
  received_at    timestamptz not null default now(),
  signature_t    bigint not null,
  delivery_hash  text not null check (delivery_hash ~ '^[0-9a-f]{64}$'),
  recipient_uuid uuid,
  event_type     text not null default 'unknown' check (length(event_type) between 1 and 100),
  payload        jsonb not null,
  model_ids      uuid[] not null default '{}',
  constraint fanvue_webhook_events_delivery_hash_key unique (delivery_hash)
);
create index fanvue_webhook_events_received_idx on public.fanvue_webhook_events (received_at);
create index fanvue_webhook_events_recipient_idx on public.fanvue_webhook_events (recipient_uuid, received_at desc);

-- Service role only: payloads carry fan handles and are not dashboard data.
alter table public.fanvue_webhook_events enable row level security;
revoke all on table public.fanvue_webhook_events from public, anon, authenticated;
grant all on table public.fanvue_webhook_events to service_role;

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

revoke all on function public.fanvue_record_webhook(bigint, text, uuid, text, jsonb) from public, anon, authenticated;
grant execute on function public.fanvue_record_webhook(bigint, text, uuid, text, jsonb) to service_role;
