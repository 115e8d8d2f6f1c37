"""What the benchmarks share."""


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the benchmark's own PostgreSQL database when missing (or anew, when `fresh`)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if fresh:
            connection.execute(f'drop database if exists "{name}" with (force)')
        elif connection.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            return
        connection.execute(f'create database "{name}"')
