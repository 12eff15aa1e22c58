# An honest, slow but correct softmax_loss: one example at a time (about 0.4 s for 60,000 rows).
import math
def softmax_loss(Z, y):
    total = 0.0
    for b in range(Z.shape[0]):
        row = Z[b]
        m = row.max()
        total += math.log(np.exp(row - m).sum()) - (row[y[b]] - m)
    return total / Z.shape[0]
