# Everything a newcomer needs: `make demo` to try it, `make test` to check it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-corpus test-cluster lint typecheck unit bench clean config-example

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## demo: a fake API server with its own CA, and the proxy in front of it on 127.0.0.1:8001
demo: $(BIN)/.installed
	$(BIN)/python -m proxy.testing.demo

## test: lint, type-check, then the whole suite (unit, integration, end to end), and the
##       integration and end-to-end suites again with the fake API server speaking HTTP/2
##       (an h2 front) and every proxy sending everything over --upstream-protocol http2
test: lint typecheck
	$(BIN)/python -m pytest -q
	KUBE_AUTH_PROXY_TEST_UPSTREAM=h2 $(BIN)/python -m pytest -q tests/integration tests/e2e

## test-corpus: replay the recorded kube-apiserver corpus against the fake API server
##              (KUBE_AUTH_PROXY_CORPUS=DIR, default ../shared/apiserver-corpus)
test-corpus: $(BIN)/.installed
	$(BIN)/python -m pytest -q tests/corpus

## test-cluster: the end-to-end scenarios against your own cluster: the current context of
##               $KUBECONFIG (or ~/.kube/config; `make test-cluster KUBECONFIG=FILE`), in a
##               temporary namespace that is deleted afterwards
test-cluster: $(BIN)/.installed
	KUBE_AUTH_PROXY_CLUSTER_KUBECONFIG="$(or $(KUBECONFIG),$(HOME)/.kube/config)" \
		$(BIN)/python -m pytest -q tests/cluster

lint: $(BIN)/.installed
	$(BIN)/ruff check proxy tests bench

typecheck: $(BIN)/.installed
	$(BIN)/mypy proxy

unit: $(BIN)/.installed
	$(BIN)/python -m pytest -q tests/unit

## bench: kube-auth-proxy vs kubectl proxy vs no proxy, nginx over TLS upstream (~10 min;
##        BENCH_QUICK=1 for a ~2 minute smoke run). Installs nginx and wrk with apt if missing.
bench: $(BIN)/.installed
	@{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null && command -v wrk >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk; }
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench $(if $(BENCH_QUICK),--quick)

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache *.egg-info

## config-example: rewrite config/kube-auth-proxy.example.yaml from the option table
config-example: $(BIN)/.installed
	$(BIN)/python -m proxy.options.example > config/kube-auth-proxy.example.yaml
