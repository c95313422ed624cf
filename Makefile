# The two commands a newcomer needs: `make run` and `make test`.
# Each bootstraps what is missing: venv, spaCy pipeline, generated locale
# domain, a trained model (retrained when data, domain or config change).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_DIR := .cache/spacy/en_facet
MODEL := models/facet-assistant.tar.gz
# Custom components that are not trainable (red flags, FAQ gate, handoff policy) are
# imported at run time, so editing them needs a restart, not a retrain.
MODEL_INPUTS := config.yml components/minilm_featurizer.py components/question_focus.py $(shell find data domain -name '*.yml' 2>/dev/null | sort)

export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONPATH := $(CURDIR)

.PHONY: lint rasa-env run cluster bench-cluster test venv spacy model train validate pytest e2e nlu-report redflag-report blind-report bench shell clean-model model-inputs migrate-to-postgres

run: model
	@bash scripts/run.sh

# N Rasa servers (default 2) behind nginx on PostgreSQL, Redis and RabbitMQ (docs/deploy.md)
cluster: model
	@bash scripts/cluster.sh

test: lint model
	@bash scripts/test.sh

venv: $(VENV)/.lock.sha256
$(VENV)/.lock.sha256: requirements.lock requirements-nodeps.txt scripts/bootstrap.sh
	@bash scripts/bootstrap.sh

spacy: $(SPACY_DIR)/meta.json
$(SPACY_DIR)/meta.json: $(VENV)/.lock.sha256 scripts/build_spacy_pipeline.py
	@$(PY) scripts/build_spacy_pipeline.py $(SPACY_DIR)

domain/locale.yml: config/clinic_profile.yml config/safety.yml scripts/render_locale_domain.py clinic_bot/profile.py clinic_bot/opening_hours.py clinic_bot/content.py clinic_bot/warning_signs.py $(VENV)/.lock.sha256
	@$(PY) scripts/render_locale_domain.py --out domain/locale.yml

model: $(MODEL)
train: $(MODEL)
$(MODEL): $(SPACY_DIR)/meta.json domain/locale.yml $(MODEL_INPUTS)
	@echo "==> training the model (data, domain or config changed)"
	@mkdir -p models
	@touch models/.training-started
	@$(RASA) train --domain domain --data data --config config.yml --out models --fixed-model-name facet-assistant
	@# the model is as new as the inputs it read: an input edited while it trained is newer, so it retrains next time
	@touch -r models/.training-started $(MODEL)

validate: $(SPACY_DIR)/meta.json domain/locale.yml
	@$(RASA) data validate --domain domain --data data --config config.yml

nlu-report: $(SPACY_DIR)/meta.json domain/locale.yml
	@$(PY) scripts/nlu_report.py

redflag-report: $(MODEL)
	@$(PY) scripts/eval_red_flags.py --detector
	@$(PY) scripts/eval_red_flags.py --model $(MODEL)

# The frozen blind sets (tests/blind/, never trained or tuned on) through the whole NLU
# of the current model; results in reports/blind/, tables with --compare (README).
blind-report: $(MODEL)
	@$(PY) scripts/eval_blind.py --label current
	@$(PY) scripts/eval_blind.py --label current_v2set --faq-set tests/blind/faq_v2.yml --red-flag-set tests/blind/red_flags_v2.yml

bench: model
	@$(PY) bench/run_bench.py

# cluster mode: SQLite single server vs 1 and 2 Rasa servers behind nginx -> reports/cluster_benchmark.md
bench-cluster: model
	@bash scripts/ensure_nginx.sh
	@$(PY) bench/cluster_bench.py $(BENCH_ARGS)

shell: model
	@bash scripts/run.sh --shell

# The plain Rasa CLI (README, "Plain Rasa"): var/rasa.env holds what endpoints.yml reads.
rasa-env: $(VENV)/.lock.sha256
	@$(PY) -m clinic_bot.launcher --write-env

# Move a clinic off the embedded SQLite files (var/clinic.db, var/tracker.db) into one PostgreSQL
# database (POSTGRES_* settings; created if missing), verified row by row; safe to rerun.
# MIGRATE_ARGS="--to postgresql://..." for another target, MIGRATE_ARGS=--dry-run to only count.
migrate-to-postgres: $(VENV)/.lock.sha256
	@$(PY) scripts/migrate_to_postgres.py $(MIGRATE_ARGS)

# Lint and types of the project's own code (ruff.toml, mypy.ini); make test runs it first.
LINTED := actions bench channels clinic_bot components console scripts tests widget
lint: $(VENV)/.lock.sha256
	@echo "==> ruff (lint, format) and mypy"
	@$(VENV)/bin/ruff check $(LINTED)
	@$(VENV)/bin/ruff format --check $(LINTED)
	@$(VENV)/bin/mypy actions channels clinic_bot components console widget

clean-model:
	rm -rf models/*.tar.gz

# The files a model is trained from (bench/run_bench.py reads this to tell a stale model).
model-inputs:
	@echo $(MODEL_INPUTS)
