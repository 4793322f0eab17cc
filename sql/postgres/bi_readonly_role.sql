-- Read-only role for BI tools (Metabase, Superset, Power BI…) on the CRPV warehouse, PostgreSQL.
--
-- What the role may do: connect to the warehouse database, read every view of the schema bi
-- (bi.activities, bi.theme_shares…) and every table of the schema public (the tables of the
-- data dictionary), including views and tables created later. What it may not: insert, update,
-- delete, create or alter anything; its sessions also start read-only.
--
-- Run it connected to the warehouse database, as the user the pipeline writes with (it owns the
-- tables and views) if that user may create roles, else as a superuser; re-running it is safe:
--
--     psql -d crpv -f sql/postgres/bi_readonly_role.sql
--
-- Identifiers it takes (session settings, both optional):
--   crpv.bi_role   name of the read-only role to create or update (default: crpv_bi)
--   crpv.bi_owner  role that owns the warehouse objects, the pipeline's user, whose future
--                  tables and views the role may read too (default: the user running the file)
-- for example:
--
--     PGOPTIONS='-c crpv.bi_role=metabase -c crpv.bi_owner=crpv' psql -d crpv -f sql/postgres/bi_readonly_role.sql
--
-- The role is created with LOGIN and no password. The operator sets one afterwards, never in
-- this file:  ALTER ROLE crpv_bi PASSWORD '…';  (or \password crpv_bi in psql).
-- The warehouse is meant to have its own database: every table of its schema public is readable.
-- PostgreSQL 14 and older let every role create tables in the schema public: there, also run
-- REVOKE CREATE ON SCHEMA public FROM PUBLIC (the default since PostgreSQL 15) and grant CREATE
-- on it to the pipeline's user.
DO $$
DECLARE
    bi_role text := coalesce(nullif(current_setting('crpv.bi_role', true), ''), 'crpv_bi');
    bi_owner text := coalesce(nullif(current_setting('crpv.bi_owner', true), ''), current_user);
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = bi_role) THEN
        EXECUTE format(
            'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
            bi_role
        );
    END IF;
    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', bi_role);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), bi_role);

    -- The pipeline creates the schema bi on its first load; create it now, owned by the pipeline's
    -- user, so that the grants below can be given before that.
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS bi AUTHORIZATION %I', bi_owner);

    -- Views for BI tools: now and in the future.
    EXECUTE format('GRANT USAGE ON SCHEMA bi TO %I', bi_role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA bi TO %I', bi_role);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA bi GRANT SELECT ON TABLES TO %I',
        bi_owner, bi_role
    );

    -- The warehouse tables themselves (dim_*, fact_*, derived tables): now and in the future.
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', bi_role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', bi_role);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT ON TABLES TO %I',
        bi_owner, bi_role
    );
END
$$;
