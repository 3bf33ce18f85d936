"""backprop: backpropagation from first principles, in NumPy.

The reference implementation behind the book. Every operation is a pair of
plain functions, ``<op>_forward`` and ``<op>_backward``; import them from
their topic module, for example ``from backprop.layers import dense_forward``.
"""

__version__ = "0.1.0"
