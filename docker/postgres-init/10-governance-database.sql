-- Create the governance store's role and database on the Airflow PostgreSQL server.
--
-- The postgres image runs this file with psql, as POSTGRES_USER, once: when it initialises an
-- empty data directory. The names and the password come from the container's environment
-- (GOVERNANCE_DB_NAME, GOVERNANCE_DB_USER, GOVERNANCE_DB_PASSWORD), read with \getenv, which
-- needs psql 15 or newer. The tables are created afterwards by `review-gov db upgrade`.

\set ON_ERROR_STOP on

\getenv governance_db GOVERNANCE_DB_NAME
\getenv governance_user GOVERNANCE_DB_USER
\getenv governance_password GOVERNANCE_DB_PASSWORD

\if :{?governance_db}
\else
  \set governance_db governance
\endif

\if :{?governance_user}
\else
  \set governance_user governance
\endif

\if :{?governance_password}
\else
  DO $$ BEGIN
    RAISE EXCEPTION 'GOVERNANCE_DB_PASSWORD is not set: set it in .env and recreate the postgres volume';
  END $$;
\endif

CREATE ROLE :"governance_user" LOGIN PASSWORD :'governance_password';
CREATE DATABASE :"governance_db" OWNER :"governance_user";

-- The store's role owns its database, and no other role may connect to it.
REVOKE ALL ON DATABASE :"governance_db" FROM PUBLIC;
