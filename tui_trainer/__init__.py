"""tui-trainer: train image classifiers with PyTorch from the terminal, and watch them live.

The core (config, presets, models, data, engine, runs, checkpoints) never imports
textual; the app (``tui_trainer.app``) renders the engine's events.
"""

__version__ = "0.1.0"
