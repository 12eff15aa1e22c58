# A tiny reference for the object tests: a scalar autodiff Value and three modules. The grader's
# own tests (tests/test_objects_*.py) and the corpus of hostile objects grade notebooks built
# from these cells (`# %%` separates cells); it is test data, never imported by the grader.
# %%
import numpy as np


# %%
class Value:
    """A scalar with reverse-mode autodiff; backward is iterative (no recursion limit)."""

    def __init__(self, data, _prev=(), _back=None):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev
        self._back = _back

    @staticmethod
    def _wrap(other):
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other):
        other = Value._wrap(other)
        out = Value(self.data + other.data, (self, other))

        def back():
            self.grad += out.grad
            other.grad += out.grad

        out._back = back
        return out

    def __mul__(self, other):
        other = Value._wrap(other)
        out = Value(self.data * other.data, (self, other))

        def back():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._back = back
        return out

    def __pow__(self, k):
        out = Value(self.data**k, (self,))

        def back():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._back = back
        return out

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-Value._wrap(other))

    def __rsub__(self, other):
        return Value._wrap(other) + (-self)

    def __truediv__(self, other):
        return self * Value._wrap(other) ** -1

    def __rtruediv__(self, other):
        return Value._wrap(other) * self**-1

    __radd__ = __add__
    __rmul__ = __mul__

    def tanh(self):
        t = np.tanh(self.data)
        out = Value(t, (self,))

        def back():
            self.grad += (1.0 - t * t) * out.grad

        out._back = back
        return out

    def backward(self):
        order = topo_sort(self)
        self.grad = 1.0
        for node in reversed(order):
            if node._back is not None:
                node._back()


def topo_sort(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev)
    return order


# %%
class Linear:
    def __init__(self, in_features, out_features, rng=None):
        r = np.random.default_rng(rng)
        self.W = r.standard_normal((in_features, out_features)) / np.sqrt(in_features)
        self.b = np.zeros((1, out_features))

    def forward(self, X):
        self.X = X
        return X @ self.W + self.b

    def backward(self, grad_out):
        self.dW = self.X.T @ grad_out
        self.db = grad_out.sum(axis=0, keepdims=True)
        return grad_out @ self.W.T


class ReLU:
    def forward(self, X):
        self.mask = X > 0
        return X * self.mask

    def backward(self, grad_out):
        return grad_out * self.mask


class Sequential:
    def __init__(self, *modules):
        self.modules = list(modules)

    def forward(self, X):
        for m in self.modules:
            X = m.forward(X)
        return X

    def backward(self, grad_out):
        for m in reversed(self.modules):
            grad_out = m.backward(grad_out)
        return grad_out
