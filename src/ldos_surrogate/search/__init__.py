"""Hyperparameter searches: each method proposes hyperparameter sets, each trial is the task
function of train.py (or a training-free score), run as a Hydra sweeper by ``search.py``.
"Eq. N" and "seed Eq. N" are the equations of the seed paper (Fiedler et al., Mach. Learn.:
Sci. Technol. 3, 045008 (2022); all references: the docstring of `ldos_surrogate`).

The shared framework: `space` (search spaces in Hydra's override grammar: choice, range,
interval, tag(log)); `runner` (`TrialRunner` composes a trial's config, trains it through
Hydra's launcher, one job per seed, loss = mean of ``optimized_metric``, and records it;
``planned`` runs a method's planned trials, each once among the workers of a search); `study`
(the search's Optuna study, where every trial of every method lives and through which any
number of workers share the search); `results` (`TrialResult`, `SearchOutcome`,
``results.csv``, the summary table); `experiment` (the best trial as an experiment file);
`sweeper` (`SearchSweeper`, the Hydra Sweeper base class doing all of this around a method).

How a method plugs in:

1. Write the method here, ``search/<method>.py``: a function taking the `TrialRunner` (its
   ``space``, ``compose``, ``train``, ``planned``, ``launch``, ``record``) and its settings, returning
   a `SearchOutcome` (all trials, the best trained one, summary lines). Number the trials
   deterministically so that a re-run resumes from the study and every worker plans the same
   ones, and run them through ``runner.train`` or ``runner.planned`` so that several workers
   split them.
2. Add a thin plugin module ``src/hydra_plugins/ldos_surrogate_sweepers/<method>_sweeper.py``:
   a structured config dataclass (``_target_``, ``params``, ``repeats``, the method's
   settings, the `study.StudySettings` keys by inheriting that class) stored in the
   ConfigStore group ``hydra/sweeper`` as ``ldos_<method>``, and a `SearchSweeper` subclass
   with ``method = "<method>"`` whose ``search(runner)`` calls the function of step 1. No ``from __future__ import annotations`` there: Hydra executes
   plugin modules before they are in ``sys.modules``, where dataclasses look up string
   annotations.
3. Add ``conf/hparams_search/<method>.yaml`` (``# @package _global_``, ``override
   /hydra/sweeper: ldos_<method>``, the space, e.g. ``space/architecture@hydra.sweeper.params``).

Bad settings raise `ldos_surrogate.errors.InputError` naming the key (``hydra.sweeper.<key>``)
before the first trial; the sweeper turns it into one ``error:`` line and exit status 2.
"""
