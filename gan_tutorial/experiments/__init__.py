"""The chapter experiments that are more than one call, one module each.

* :mod:`gan_tutorial.experiments.mode_collapse` -- the multi-seed mode-collapse protocol of
  VEEGAN and PacGAN on 2-D mixtures, and its score :func:`~.mode_collapse.mode_coverage_2d`
* :mod:`gan_tutorial.experiments.stacked_mnist` -- Stacked MNIST (1,000 modes), PacGAN's
  Table 2: stacking, packing and scoring of a (Pac)DCGAN
* :mod:`gan_tutorial.experiments.vanishing` -- G's gradient under the saturating and
  non-saturating losses as D wins (Arjovsky & Bottou 2017)
* :mod:`gan_tutorial.experiments.dirac` -- the Dirac-GAN of Mescheder et al. 2018: gradient
  dynamics that circle the equilibrium

They are built from the package's modules (models, losses, data, metrics) and keep no copies of
them. Importing this package imports none of them.
"""
