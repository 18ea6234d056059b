-- Local stand-in for what a Supabase project already has, applied ONLY when the target database is
-- not a Supabase project (devstack.migrate decides). It lets the same migrations run unchanged on a plain
-- Postgres: the three API roles, the auth.uid()/auth.jwt()/auth.role() helpers reading
-- request.jwt.claims exactly as Supabase's do, and Supabase's default privileges (every new table and
-- function in public is granted to anon/authenticated/service_role), so our explicit revokes are tested
-- against the same starting point as production. Idempotent.
-- Roles are cluster-wide: two databases of one cluster bootstrapping at once (parallel test workers)
-- race between the existence check and the create, so a concurrent create counts as done.
do $$
declare
  r record;
begin
  for r in select * from (values ('anon', 'nologin noinherit'), ('authenticated', 'nologin noinherit'),
                                 ('service_role', 'nologin noinherit bypassrls')) as t(name, options) loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.options);
      exception when duplicate_object or unique_violation then
        null;
      end;
    end if;
  end loop;
end
$$;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
