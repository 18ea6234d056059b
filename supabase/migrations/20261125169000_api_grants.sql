-- The database API is for the service role only (F8): no function in public or private is executable
-- by anon or authenticated, except the one RLS helper the policies call.
revoke execute on all functions in schema public from public, anon, authenticated;
revoke execute on all functions in schema private from public, anon, authenticated;
grant execute on all functions in schema public to service_role;
grant execute on all functions in schema private to service_role;
grant execute on function private.current_agency_id() to authenticated;
alter default privileges in schema public revoke execute on functions from public, anon, authenticated;
-- New functions are executable by PUBLIC by default; only a global default-privilege change stops
-- that for functions later migrations add.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public grant execute on functions to service_role;
alter default privileges in schema private grant execute on functions to service_role;
