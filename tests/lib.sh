# Shell helpers the check scripts under tests/ share (sourced, not run).

# python_venv VENV REQUIREMENTS: a virtual environment at VENV with the pinned packages of
# REQUIREMENTS, installed from PyPI without resolving; made again only when that file changes.
python_venv() {
  local venv="$1" requirements="$2" lock_sum
  lock_sum="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.baukasten-lock" 2>/dev/null)" != "$lock_sum" ]; then
    echo "-- pip install -r $requirements (into $venv)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
      --index-url https://pypi.org/simple -r "$requirements"
    echo "$lock_sum" > "$venv/.baukasten-lock"
  fi
}

# catalog_webhooks FORMS URL SECRET_ENV: the `webhooks:` section of a server configuration in
# which every webhook a service of FORMS delivers to goes to URL, for each municipality of
# FORMS, signed with the secret in the variable SECRET_ENV. A configuration file makes every
# such webhook required (docs/operations.md).
catalog_webhooks() {
  local forms="$1" url="$2" secret_env="$3" tenant name
  echo "webhooks:"
  for tenant in $(grep -rhoE '^tenant: *[a-z][a-z0-9_]*' "$forms" | awk '{print $2}' | sort -u); do
    echo "  $tenant:"
    for name in $(grep -rhoE 'webhook: *[a-z][a-z0-9_]*' "$forms" | awk '{print $2}' | sort -u); do
      echo "    $name: { url: \"$url\", secret_env: $secret_env }"
    done
  done
}

# postgres_database NAME: makes sure the local PostgreSQL server runs (this machine kind has
# one; started, or installed from Debian's packages, if not) and (re)creates the empty database
# NAME in it. Prints nothing; the address is postgres://postgres@127.0.0.1:5432/NAME.
postgres_database() {
  local name="$1"
  if ! command -v pg_ctlcluster >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >/dev/null
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
  psql -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\"" >/dev/null
}
