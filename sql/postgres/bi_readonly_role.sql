-- Read-only role for BI tools (Metabase, Superset, Power BI…) on the CRPV warehouse, PostgreSQL.
--
-- What the role may do: connect to the warehouse database and read every view of the schema bi
-- (bi.activities, bi.theme_shares…), including views created later. With crpv.bi_raw = on, also
-- every table of the schema public (the raw tables of the data dictionary: submission,
-- validation_failure… with file names and the cells as written); off (the default) takes that
-- back from a role that had it.
-- What it may not, even in a session it turns read-write (BEGIN READ WRITE): insert, update,
-- delete, create or alter anything; create temporary tables; create large objects; take
-- advisory locks (with those, a session could hold the pipeline's year or write lock and stall
-- every run). Its sessions also start read-only.
--
-- How: TEMPORARY on the database and EXECUTE on the advisory-lock and large-object-creating
-- functions are taken from PUBLIC in this database only (the Dagster database and the rest of
-- the server keep PostgreSQL's defaults), then TEMPORARY and the advisory locks are given back
-- to the pipeline's user (crpv.bi_owner), which needs both: every write holds the write lock,
-- each run the year lock, and the BI views are compared through a temporary view. Denied by
-- default, a role created later by hand cannot take the locks either; a superuser still can
-- (privileges do not apply to it), which is why the pipeline's waits are bounded as well
-- (CRPV_LOCK_TIMEOUT). lo_compat_privileges must stay off (the default): the file refuses to run
-- otherwise.
--
-- Run it connected to the warehouse database as a superuser (only a superuser may change the
-- privileges of PostgreSQL's own functions), after the pipeline's first run or naming the
-- pipeline's user; re-running it is safe:
--
--     psql -d crpv -f sql/postgres/bi_readonly_role.sql
--
-- Identifiers it takes (session settings, all optional):
--   crpv.bi_role   name of the read-only role to create or update (default: crpv_bi)
--   crpv.bi_owner  the pipeline's user, which owns the warehouse objects (default: the owner of
--                  the table submission, which the pipeline creates, else the user running this)
--   crpv.bi_raw    on: the role reads the raw tables of the schema public too (default: off)
-- for example:
--
--     PGOPTIONS='-c crpv.bi_role=metabase -c crpv.bi_owner=crpv' psql -d crpv -f sql/postgres/bi_readonly_role.sql
--     PGOPTIONS='-c crpv.bi_raw=on' psql -d crpv -f sql/postgres/bi_readonly_role.sql
--
-- The role is created with LOGIN and no password. The operator sets one afterwards, never in
-- this file:  ALTER ROLE crpv_bi PASSWORD '…';  (or \password crpv_bi in psql).
-- PostgreSQL 14 and older let every role create tables in the schema public: there, also run
-- REVOKE CREATE ON SCHEMA public FROM PUBLIC (the default since PostgreSQL 15) and grant CREATE
-- on it to the pipeline's user.
DO $$
DECLARE
    bi_role text := coalesce(nullif(current_setting('crpv.bi_role', true), ''), 'crpv_bi');
    bi_owner text := coalesce(
        nullif(current_setting('crpv.bi_owner', true), ''),
        (SELECT tableowner FROM pg_catalog.pg_tables
         WHERE schemaname = 'public' AND tablename = 'submission'),
        current_user
    );
    bi_raw boolean := coalesce(nullif(current_setting('crpv.bi_raw', true), ''), 'off')::boolean;
    fn regprocedure;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'run bi_readonly_role.sql as a superuser: it changes the privileges of '
            'PostgreSQL''s advisory-lock and large-object functions in this database';
    END IF;
    IF current_setting('lo_compat_privileges')::boolean THEN
        RAISE EXCEPTION 'lo_compat_privileges is on: every role may read and write every large '
            'object; set it off (the default) before giving BI tools an account';
    END IF;

    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = bi_role) THEN
        EXECUTE format(
            'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
            bi_role
        );
    END IF;
    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', bi_role);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), bi_role);

    -- No temporary tables but the pipeline's (it compares the BI views through one).
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM %I', current_database(), bi_role);
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), bi_owner);

    -- No advisory locks but the pipeline's (its year lock and write lock); no large objects.
    FOR fn IN
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname LIKE 'pg\_%advisory\_%'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, bi_owner);
    END LOOP;
    FOR fn IN
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND p.proname IN ('lo_creat', 'lo_create', 'lo_import', 'lo_from_bytea')
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM %I', fn, bi_role);
    END LOOP;

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

    -- The raw tables (dim_*, fact_*, submission, validation_failure…): only when asked for.
    IF bi_raw THEN
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', bi_role);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', bi_role);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT ON TABLES TO %I',
            bi_owner, bi_role
        );
    ELSE
        EXECUTE format('REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM %I', bi_role);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public REVOKE SELECT ON TABLES FROM %I',
            bi_owner, bi_role
        );
    END IF;
END
$$;
