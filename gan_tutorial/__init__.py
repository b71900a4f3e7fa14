"""gan_tutorial: the code behind the book *Generative Adversarial Networks: the game of
creation and discrimination*.

Every model, loss, training loop and plot that the chapters use lives here, one job per module:

* :mod:`gan_tutorial.config`   -- :class:`TrainConfig`, the validated training settings
* :mod:`gan_tutorial.data`     -- datasets as ``(N, C, H, W) float32 in [-1, 1]`` tensors
* :mod:`gan_tutorial.models`   -- generators G and discriminators D (D returns logits), for
  images and for low-dimensional points
* :mod:`gan_tutorial.losses`   -- the adversarial losses, as pure functions
* :mod:`gan_tutorial.train`    -- the teaching core: the discriminator step, the generator step
  and Algorithm 1's loop, with one callback hook
* :mod:`gan_tutorial.callbacks` -- the rest of a run, one job each: logs, divergence guard,
  progress bar, snapshots, checkpoints, Ctrl-C, the image pool, EMA
* :mod:`gan_tutorial.runner`   -- :func:`fit`: the inputs checked once, then the loop and callbacks
* :mod:`gan_tutorial.sampling` -- sampling from G in eval mode with explicit randomness
* :mod:`gan_tutorial.theory`   -- the closed forms of the GAN paper (V, D*, C(G), JSD, KL) on grids
* :mod:`gan_tutorial.validation` -- the number, image and label checks every function uses
* :mod:`gan_tutorial.metrics`  -- sample-quality measures of MNIST images
* :mod:`gan_tutorial.stats`    -- the book's one rule for comparing two settings' per-seed scores
* :mod:`gan_tutorial.experiments` -- the chapters' experiments: the multi-seed mode-collapse
  protocol on 2-D mixtures, vanishing gradients, the Dirac-GAN
* :mod:`gan_tutorial.checkpoint` -- atomic save and load of a training run
* :mod:`gan_tutorial.results`  -- the book's result files, from a clone or fetched and verified
* :mod:`gan_tutorial.source`   -- the package's code shown on a page, docstrings cut to a summary
* :mod:`gan_tutorial.plot`     -- matplotlib figures
* :mod:`gan_tutorial.utils`    -- seeding, device choice, image-range conversion

Importing the package does nothing else: no prints, no CUDA checks, no plotting settings.
"""

__version__ = "0.1.0"
