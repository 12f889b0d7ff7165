/// Invariant graph network layers (Maron et al. 2019) on n × n inputs, for BasisNet: linear
/// maps that commute with node permutations, written as a learned combination of a basis of
/// such maps. Inputs and outputs carry channels: X[c] is n × n (or length n).
///
/// Sums are divided by n (and totals by n²) when `normalized`, so that the layer's scale does
/// not grow with the graph (Maron et al.'s "inf" normalisation); unnormalised otherwise.
public enum IGNBasis {
    /// The 15 basis maps of R^{n×n} → R^{n×n}, in the order of Maron et al.'s ops_2_to_2:
    /// identity, transpose, diagonal kept, diagonal to rows, diagonal to columns, row sums and
    /// column sums on the diagonal, row sums to rows / columns, column sums to rows / columns,
    /// trace on the diagonal / everywhere, total on the diagonal / everywhere.
    public static let twoToTwo = 15
    /// The 5 maps R^{n×n} → R^n: diagonal, row sums, column sums, trace, total.
    public static let twoToOne = 5
    /// The 2 maps R^n → R^n: identity, sum.
    public static let oneToOne = 2

    /// Row sums, column sums, trace and total of an n × n matrix (row-major).
    static func summaries<T: GEMMScalar>(_ x: [T], n: Int) -> (row: [T], col: [T], trace: T, total: T) {
        var row = [T](repeating: 0, count: n), col = row
        var tr: T = 0, tot: T = 0
        for i in 0..<n { for j in 0..<n { row[i] += x[i * n + j]; col[j] += x[i * n + j] } }
        for i in 0..<n { tr += x[i * n + i]; tot += row[i] }
        return (row, col, tr, tot)
    }

    /// op_k(X) for k in 0..<15; X is n × n row-major.
    public static func apply2to2<T: GEMMScalar>(_ k: Int, _ x: [T], n: Int, normalized: Bool) -> [T] {
        let s: T = normalized ? 1 / T(n) : 1, s2: T = normalized ? 1 / T(n * n) : 1
        var y = [T](repeating: 0, count: n * n)
        let (row, col, tr, tot) = summaries(x, n: n)
        for i in 0..<n {
            for j in 0..<n {
                let d = i == j
                let v: T
                switch k {
                case 0: v = x[i * n + j]
                case 1: v = x[j * n + i]
                case 2: v = d ? x[i * n + i] : 0
                case 3: v = x[i * n + i]
                case 4: v = x[j * n + j]
                case 5: v = d ? row[i] * s : 0
                case 6: v = d ? col[i] * s : 0
                case 7: v = row[i] * s
                case 8: v = row[j] * s
                case 9: v = col[i] * s
                case 10: v = col[j] * s
                case 11: v = d ? tr * s : 0
                case 12: v = tr * s
                case 13: v = d ? tot * s2 : 0
                default: v = tot * s2
                }
                y[i * n + j] = v
            }
        }
        return y
    }

    /// The adjoint of op_k (so that ⟨op_k X, G⟩ = ⟨X, op_k* G⟩): the backward pass.
    public static func adjoint2to2<T: GEMMScalar>(_ k: Int, _ g: [T], n: Int, normalized: Bool) -> [T] {
        let s: T = normalized ? 1 / T(n) : 1, s2: T = normalized ? 1 / T(n * n) : 1
        var x = [T](repeating: 0, count: n * n)
        let (row, col, tr, tot) = summaries(g, n: n)
        for a in 0..<n {
            for b in 0..<n {
                let d = a == b
                let v: T
                switch k {
                case 0: v = g[a * n + b]
                case 1: v = g[b * n + a]
                case 2: v = d ? g[a * n + a] : 0
                case 3: v = d ? row[a] : 0                // Y_ij = X_ii
                case 4: v = d ? col[a] : 0                // Y_ij = X_jj
                case 5: v = g[a * n + a] * s              // Y_ii = Σ_k X_ik
                case 6: v = g[b * n + b] * s              // Y_ii = Σ_k X_ki
                case 7: v = row[a] * s                    // Y_ij = Σ_k X_ik
                case 8: v = col[a] * s                    // Y_ij = Σ_k X_jk
                case 9: v = row[b] * s                    // Y_ij = Σ_k X_ki
                case 10: v = col[b] * s                   // Y_ij = Σ_k X_kj
                case 11: v = d ? tr * s : 0               // Y_ii = tr X
                case 12: v = d ? tot * s : 0              // Y_ij = tr X
                case 13: v = tr * s2                      // Y_ii = Σ X
                default: v = tot * s2                     // Y_ij = Σ X
                }
                x[a * n + b] = v
            }
        }
        return x
    }

    /// op_k(X) for k in 0..<5: R^{n×n} → R^n.
    public static func apply2to1<T: GEMMScalar>(_ k: Int, _ x: [T], n: Int, normalized: Bool) -> [T] {
        let s: T = normalized ? 1 / T(n) : 1, s2: T = normalized ? 1 / T(n * n) : 1
        var y = [T](repeating: 0, count: n)
        let (row, col, tr, tot) = summaries(x, n: n)
        for i in 0..<n {
            switch k {
            case 0: y[i] = x[i * n + i]
            case 1: y[i] = row[i] * s
            case 2: y[i] = col[i] * s
            case 3: y[i] = tr * s
            default: y[i] = tot * s2
            }
        }
        return y
    }

    public static func adjoint2to1<T: GEMMScalar>(_ k: Int, _ g: [T], n: Int, normalized: Bool) -> [T] {
        let s: T = normalized ? 1 / T(n) : 1, s2: T = normalized ? 1 / T(n * n) : 1
        var x = [T](repeating: 0, count: n * n)
        let total = g.reduce(0, +)
        for a in 0..<n {
            for b in 0..<n {
                switch k {
                case 0: x[a * n + b] = a == b ? g[a] : 0
                case 1: x[a * n + b] = g[a] * s
                case 2: x[a * n + b] = g[b] * s
                case 3: x[a * n + b] = a == b ? total * s : 0
                default: x[a * n + b] = total * s2
                }
            }
        }
        return x
    }
}

/// An equivariant linear layer between n × n tensors with channels (IGN 2→2), or from
/// n × n tensors to per-node vectors (IGN 2→1), or between per-node vectors (1→1):
/// Y[o] = Σ_c Σ_k W[o][c][k] · op_k(X[c]) + bias[o] (bias on every entry).
public struct IGNLayer<T: GEMMScalar>: Sendable {
    public enum Kind: Sendable { case twoToTwo, twoToOne, oneToOne }
    public let kind: Kind
    public let inChannels: Int
    public let outChannels: Int
    public let normalized: Bool
    /// outChannels × inChannels × basis, flattened.
    public var weights: [T]
    public var bias: [T]
    public var weightGradient: [T]
    public var biasGradient: [T]
    var input: [[T]] = []
    var n = 0

    public var basis: Int { kind == .twoToTwo ? 15 : (kind == .twoToOne ? 5 : 2) }

    public init<G: RandomNumberGenerator>(_ kind: Kind, inChannels: Int, outChannels: Int, normalized: Bool = true,
                                          using rng: inout G) {
        self.kind = kind
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.normalized = normalized
        let b = kind == .twoToTwo ? 15 : (kind == .twoToOne ? 5 : 2)
        let bound = (2 / Double(inChannels * b)).squareRoot()
        weights = (0..<(outChannels * inChannels * b)).map { _ in T(Double.random(in: -bound...bound, using: &rng)) }
        bias = [T](repeating: 0, count: outChannels)
        weightGradient = [T](repeating: 0, count: weights.count)
        biasGradient = bias
    }

    private func op(_ k: Int, _ x: [T]) -> [T] {
        switch kind {
        case .twoToTwo: return IGNBasis.apply2to2(k, x, n: n, normalized: normalized)
        case .twoToOne: return IGNBasis.apply2to1(k, x, n: n, normalized: normalized)
        case .oneToOne:
            if k == 0 { return x }
            let s = x.reduce(0, +) * (normalized ? 1 / T(n) : 1)
            return [T](repeating: s, count: n)
        }
    }

    private func adjoint(_ k: Int, _ g: [T]) -> [T] {
        switch kind {
        case .twoToTwo: return IGNBasis.adjoint2to2(k, g, n: n, normalized: normalized)
        case .twoToOne: return IGNBasis.adjoint2to1(k, g, n: n, normalized: normalized)
        case .oneToOne:
            if k == 0 { return g }
            let s = g.reduce(0, +) * (normalized ? 1 / T(n) : 1)
            return [T](repeating: s, count: n)
        }
    }

    /// x: inChannels tensors (n × n, or length n for 1→1); returns outChannels tensors.
    public mutating func forward(_ x: [[T]], n: Int) -> [[T]] {
        precondition(x.count == inChannels, "expected \(inChannels) channels")
        self.n = n
        input = x
        let outSize = kind == .twoToTwo ? n * n : n
        var y = (0..<outChannels).map { o in [T](repeating: bias[o], count: outSize) }
        for c in 0..<inChannels {
            for k in 0..<basis {
                let t = op(k, x[c])
                for o in 0..<outChannels {
                    let w = weights[(o * inChannels + c) * basis + k]
                    for i in 0..<outSize { y[o][i] += w * t[i] }
                }
            }
        }
        return y
    }

    /// dy: outChannels tensors; accumulates the weight and bias gradients, returns dx.
    public mutating func backward(_ dy: [[T]]) -> [[T]] {
        var dx = input.map { [T](repeating: 0, count: $0.count) }
        for o in 0..<outChannels { biasGradient[o] += dy[o].reduce(0, +) }
        for c in 0..<inChannels {
            for k in 0..<basis {
                let t = op(k, input[c])
                var gsum = [T](repeating: 0, count: t.count)
                for o in 0..<outChannels {
                    let wi = (o * inChannels + c) * basis + k
                    var dot: T = 0
                    for i in 0..<t.count { dot += t[i] * dy[o][i]; gsum[i] += weights[wi] * dy[o][i] }
                    weightGradient[wi] += dot
                }
                let back = adjoint(k, gsum)
                for i in 0..<back.count { dx[c][i] += back[i] }
            }
        }
        return dx
    }
}
