"""The labs wing: the chapters' figures, widgets and experiments.

One module per chapter topic, each built only on the reference
implementation at the top of ``backprop``:

========================  =====================================================
``labs.book``             helpers every chapter uses to show listings and numbers
``labs.style``            one look for every figure (XOR target markers)
``labs.forward_pass``     chapter 1: the forward pass, one weight's effect
``labs.graph``            chapter 2: scalar computational graphs, both modes
``labs.graph_plot``       chapter 2: drawing graphs and operation counts
``labs.glassbox``         chapter 3: every number of one backward pass
``labs.cost``             chapter 3: what a backward pass costs, counted and timed
``labs.xor``              chapter 4: training XOR, the explorer widget
``labs.stepsize``         chapter 5: finite-difference step size
``labs.depth``            chapter 6: gradients through depth
``labs.stability``        chapter 7: naive formulas failing, loss forms, float32 run
``labs.initialisation``   chapter 8: variance per layer, symmetry, torch's default
``labs.batchnorm_lab``    chapter 9: BatchNorm's Jacobian, a deep digits MLP with it
``labs.practice``         chapter 10: monitored training, schedules, the clinic
``labs.rnn_lab``          chapter 11: BPTT loop, gradient through time, sine task
``labs.autodiff_lab``     chapter 12: scalar against array nodes, engine and torch
``labs.cost_lab``         chapter 13: time, memory, checkpointing, the step benchmark
``labs.capstone``         chapter 14: the digits classifier, its torch replay, figures
========================  =====================================================

Nothing in the reference implementation imports this wing.
"""
