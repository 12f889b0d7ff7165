import Foundation
import Support
import Neural

/// How Laplacian eigenvectors enter a graph network.
public enum PositionalEncoding: String, Sendable, Codable, CaseIterable {
    /// None: plain message passing (1-WL at most).
    case none
    /// The first k eigenvectors as node features (not sign invariant).
    case eigen
    /// Their absolute values.
    case abs
    /// Random sign flips per eigenvector while training.
    case signflip
    /// SignNet: φ = GIN on each eigenvector, φ(v) + φ(−v), ρ = MLP over the k outputs.
    case signnet
    /// BasisNet: per eigenspace the projector V Vᵀ through an invariant graph network (IGN
    /// 2→2 with the 15 basis maps, ReLU, 2→1 with the 5), one φ per multiplicity, then ρ.
    case basisnet
}

/// How node states become one vector per graph.
public enum GraphReadout: String, Sendable, Codable, CaseIterable { case sum, mean }

public struct GraphModelConfiguration: Codable, Sendable, Equatable {
    public var encoding: PositionalEncoding = .signnet
    /// Eigenvectors (or eigenspace slots for BasisNet) used.
    public var k: Int = 8
    public var positionalDimension: Int = 8
    public var phiHidden: Int = 16
    public var hidden: Int = 32
    /// Message-passing layers of the base network (GIN, or GINE with `edgeTypes` > 0).
    public var layers: Int = 2
    /// 0: GIN, edge types ignored. n > 0: GINE (Hu et al. 2020) — each message is
    /// ReLU(h_u + e_t), e_t a learned vector per edge type t ∈ 0..<n.
    public var edgeTypes: Int = 0
    public var readout: GraphReadout = .sum
    /// SignNet/BasisNet's ρ: false — an MLP on the concatenation of the k eigenvectors' φ outputs;
    /// true — DeepSets: their sum, then the MLP (invariant to the order of the eigenvectors too).
    public var deepSets = false
    /// Classes, or the number of regression targets.
    public var outputs: Int = 10
    public var laplacian: LaplacianKind = .normalized
    /// BasisNet's φ: false — one IGN 2→1 layer (the reference code's cheap form); true — IGN 2→2
    /// (all 15 basis maps, 4 channels), ReLU, then 2→1 (fused: `FullBasisPhi`).
    public var basisNetFull = false
    /// The eigenvalues as inputs: SignNet's φ sees [±v_j, λ_j] per node (λ not negated), BasisNet's
    /// φ adds u·λ_s to its output per eigenspace (an IGN input channel λ·11ᵀ, whose five 2→1 maps
    /// all equal λ), and an MLP ρ (not DeepSets, whose φ already has them) gets the k eigenvalues.
    public var eigenvalues = false
    /// A ReLU after ρ (before 2026-11-30 always there). Off by default: a ReLU there can switch off
    /// every positional channel for good — 3 of 10 CSL seeds stalled at chance with it.
    public var positionalReLU = false
    /// The last layer's weights and biases start at zero: the first outputs are 0 — a
    /// uniform class distribution, the training mean for a standardised regression — instead of
    /// logits of ±8, whose first steps switched off every unit of the head for good (on and since
    /// 2026-11-30; false before).
    public var zeroOutputLayer = true
    /// Eigenvectors enter as √n·v, entries of mean square 1 whatever the graph's size, instead of
    /// unit-norm v (entries ~1/√n ≈ 0.16 on CSL): with v, a first-layer unit of φ is ReLU(w·v + b)
    /// with w, b ~ U(−1, 1), and every unit whose bias is below −|w|/√n is off for every input —
    /// 9 of 16 on one seed, which then never learned (on and since 2026-11-30; false before).
    public var scaledEigenvectors = true
    public var seed: UInt64 = 0
    public init() {}

    enum CodingKeys: String, CodingKey {
        case encoding, k, positionalDimension, phiHidden, hidden, layers, edgeTypes, readout, deepSets, outputs, laplacian
        case basisNetFull, eigenvalues, positionalReLU, zeroOutputLayer, scaledEigenvectors, seed
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GraphModelConfiguration()
        encoding = try c.decodeIfPresent(PositionalEncoding.self, forKey: .encoding) ?? d.encoding
        k = try c.decodeIfPresent(Int.self, forKey: .k) ?? d.k
        positionalDimension = try c.decodeIfPresent(Int.self, forKey: .positionalDimension) ?? d.positionalDimension
        phiHidden = try c.decodeIfPresent(Int.self, forKey: .phiHidden) ?? d.phiHidden
        hidden = try c.decodeIfPresent(Int.self, forKey: .hidden) ?? d.hidden
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        edgeTypes = try c.decodeIfPresent(Int.self, forKey: .edgeTypes) ?? d.edgeTypes
        readout = try c.decodeIfPresent(GraphReadout.self, forKey: .readout) ?? d.readout
        deepSets = try c.decodeIfPresent(Bool.self, forKey: .deepSets) ?? d.deepSets
        outputs = try c.decodeIfPresent(Int.self, forKey: .outputs) ?? d.outputs
        laplacian = try c.decodeIfPresent(LaplacianKind.self, forKey: .laplacian) ?? d.laplacian
        basisNetFull = try c.decodeIfPresent(Bool.self, forKey: .basisNetFull) ?? d.basisNetFull
        eigenvalues = try c.decodeIfPresent(Bool.self, forKey: .eigenvalues) ?? d.eigenvalues
        // a configuration written before the option existed had the ReLU
        positionalReLU = try c.decodeIfPresent(Bool.self, forKey: .positionalReLU) ?? true
        zeroOutputLayer = try c.decodeIfPresent(Bool.self, forKey: .zeroOutputLayer) ?? false
        scaledEigenvectors = try c.decodeIfPresent(Bool.self, forKey: .scaledEigenvectors) ?? false
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
    }
}

/// One graph made ready for the network: adjacency (with edge types) and spectrum.
public struct PreparedGraph: Sendable {
    public let graph: Graph
    public let adjacency: Adjacency
    public let spectrum: GraphSpectrum
    public init(_ g: Graph, laplacian: LaplacianKind = .normalized) {
        self.init(g, spectrum: GraphSpectrum(g, kind: laplacian))
    }
    public init(_ g: Graph, spectrum: GraphSpectrum) {
        graph = g
        // edge types missing at the end (edges appended without types) count as type 0
        let types = g.edgeTypes.count >= g.edges.count ? Array(g.edgeTypes.prefix(g.edges.count))
            : g.edgeTypes + [Int](repeating: 0, count: g.edges.count - g.edgeTypes.count)
        adjacency = Adjacency(nodes: g.nodeCount, edges: g.edges, labels: types)
        self.spectrum = spectrum
    }
}

/// Many graphs as one: the disjoint union of their adjacencies, node rows stacked, so that every
/// layer runs as one product over the whole minibatch.
public struct GraphBatch: Sendable {
    public let graphs: [PreparedGraph]
    /// Node offset of each graph (count + 1 entries).
    public let offsets: [Int]
    public let adjacency: Adjacency
    public var nodeCount: Int { offsets.last! }
    public var count: Int { graphs.count }

    public init(_ graphs: [PreparedGraph]) {
        self.graphs = graphs
        var o = [0]
        for g in graphs { o.append(o.last! + g.graph.nodeCount) }
        offsets = o
        adjacency = Adjacency.union(graphs.map(\.adjacency))
    }
}

/// GIN layer h'_v = MLP((1 + ε) h_v + Σ_u m_uv) with ε = 0 and MLP = Linear–ReLU–Linear; the message
/// m_uv is h_u (GIN) or ReLU(h_u + e_type(uv)) (GINE, when the layer has an edge embedding).
struct MessageLayer: Sendable {
    var first: Linear<Float>, second: Linear<Float>, relu = Activation<Float>(.relu)
    /// inputs × types; column t is the embedding of edge type t.
    var edge: Linear<Float>?
    /// For GINE: which message entries were positive (neighbour entries × inputs).
    var open: [Bool] = []

    init<G: RandomNumberGenerator>(inputs: Int, hidden: Int, outputs: Int, edgeTypes: Int, using rng: inout G) {
        first = Linear(inputs: inputs, outputs: hidden, using: &rng)
        second = Linear(inputs: hidden, outputs: outputs, using: &rng)
        edge = edgeTypes > 0 ? Linear(inputs: edgeTypes, outputs: inputs, bias: false, using: &rng) : nil
    }

    mutating func aggregate(_ x: Matrix<Float>, _ a: Adjacency) -> Matrix<Float> {
        guard let e = edge else { return a.aggregate(x, eps: 0) }
        let c = x.columns, types = e.inputs
        var y = x
        open = [Bool](repeating: false, count: a.neighbours.count * c)
        for v in 0..<a.nodes {
            for p in a.offsets[v]..<a.offsets[v + 1] {
                let u = Int(a.neighbours[p]), t = Int(a.labels[p])
                precondition(t < types, "edge type \(t) but the model has \(types)")
                for j in 0..<c {
                    let m = x.values[u * c + j] + e.weight.values[j * types + t]
                    if m > 0 { y.values[v * c + j] += m; open[p * c + j] = true }
                }
            }
        }
        return y
    }

    /// The adjoint of `aggregate` (with GINE's stored ReLU masks), scattering each entry's gradient
    /// to the neighbour it came from; accumulates the edge embeddings' gradient. (Plain GIN's sum is
    /// self-adjoint, so `Adjacency.aggregate` would give the same values, but it adds them in another
    /// order: the scatter keeps the documented results reproducible to the bit.)
    mutating func aggregateBackward(_ g: Matrix<Float>, _ a: Adjacency) -> Matrix<Float> {
        let c = g.columns, types = edge?.inputs ?? 0
        var dx = g
        g.values.withUnsafeBufferPointer { gs in
            dx.values.withUnsafeMutableBufferPointer { ds in
                for v in 0..<a.nodes {
                    for p in a.offsets[v]..<a.offsets[v + 1] {
                        let u = Int(a.neighbours[p]), t = Int(a.labels[p])
                        for j in 0..<c where types == 0 || open[p * c + j] {
                            ds[u * c + j] += gs[v * c + j]
                            if types > 0 { edge!.weightGradient.values[j * types + t] += gs[v * c + j] }
                        }
                    }
                }
            }
        }
        return dx
    }

    mutating func forward(_ x: Matrix<Float>, _ a: Adjacency) -> Matrix<Float> {
        second.forward(relu.forward(first.forward(aggregate(x, a))))
    }

    mutating func backward(_ dy: Matrix<Float>, _ a: Adjacency) -> Matrix<Float> {
        aggregateBackward(first.backward(relu.backward(second.backward(dy))), a)
    }
}

/// A graph network: positional encoding from the Laplacian eigenvectors (none, raw, |v|, sign
/// flips, SignNet or BasisNet), concatenated to the node features, then GIN/GINE layers, a
/// sum or mean readout and a two-layer head. Works on minibatches of graphs (`GraphBatch`).
public struct GraphModel: Sendable {
    public let configuration: GraphModelConfiguration
    public let featureCount: Int
    /// Channels between BasisNet's 2→2 and 2→1 layers.
    static let basisChannels = 4
    // positional encoders: one type per learned encoding, then ρ
    var signnet: SignNetEncoder
    var basisnet: BasisNetEncoder
    var rho: Linear<Float>, rhoAct = Activation<Float>(.relu)
    // base network
    var base: [MessageLayer], baseAct: [Activation<Float>]
    var head1: Linear<Float>, headAct = Activation<Float>(.relu), head2: Linear<Float>

    public init(configuration c: GraphModelConfiguration, featureCount: Int) {
        precondition(c.k >= 1 && c.layers >= 1 && c.outputs >= 1, "k, layers and outputs must be positive")
        configuration = c
        self.featureCount = featureCount
        var rng = SplitMix64(seed: c.seed &+ 0x6A09E667)
        let q = c.phiHidden
        signnet = SignNetEncoder(hidden: q, inputs: c.eigenvalues ? 2 : 1, using: &rng)
        basisnet = BasisNetEncoder(hidden: q, full: c.basisNetFull, channels: GraphModel.basisChannels, using: &rng)
        let rhoIn: Int
        switch c.encoding {
        case .none: rhoIn = 1
        case .eigen, .abs, .signflip: rhoIn = c.k
        case .signnet, .basisnet: rhoIn = c.deepSets ? q : c.k * q
        }
        rhoEigenvalues = c.eigenvalues && c.encoding != .none && !c.deepSets ? c.k : 0
        rho = Linear(inputs: rhoIn + rhoEigenvalues, outputs: c.positionalDimension, using: &rng)
        let p = c.encoding == .none ? 0 : c.positionalDimension
        base = (0..<c.layers).map { l in
            MessageLayer(inputs: l == 0 ? featureCount + p : c.hidden, hidden: c.hidden, outputs: c.hidden, edgeTypes: c.edgeTypes, using: &rng)
        }
        baseAct = [Activation<Float>](repeating: Activation(.relu), count: c.layers)
        head1 = Linear(inputs: c.hidden, outputs: c.hidden, using: &rng)
        head2 = Linear(inputs: c.hidden, outputs: c.outputs, using: &rng)
        if c.zeroOutputLayer {
            for i in head2.weight.values.indices { head2.weight.values[i] = 0 }
            head2.bias = head2.bias.map { [Float](repeating: 0, count: $0.count) }
        }
        if c.eigenvalues && c.encoding == .basisnet {
            // drawn last, so that the other weights are those of the model without eigenvalues
            basisnet.lambdaWeights = (0..<(4 * q)).map { _ in Float.random(in: -1...1, using: &rng) }
            basisnet.lambdaGradients = [Float](repeating: 0, count: 4 * q)
        }
    }

    /// Columns of ρ's input that hold the eigenvalues (k, or 0 without them).
    let rhoEigenvalues: Int

    /// The batch's first k eigenvalues per node (N × k; zero beyond a graph's size) — per
    /// eigenvector for SignNet and the raw encodings, per eigenspace slot for BasisNet.
    func eigenvalueColumns(_ b: GraphBatch) -> Matrix<Float> {
        let k = configuration.k, spaces = configuration.encoding == .basisnet
        var x = Matrix<Float>(rows: b.nodeCount, columns: k)
        for (gi, g) in b.graphs.enumerated() {
            let sp = g.spectrum
            let lam: [Float] = (0..<k).map { j in
                if spaces { return j < sp.eigenspaces.count ? Float(sp.eigenspaceValue(j)) : 0 }
                return j < sp.n ? Float(sp.values[j]) : 0
            }
            for i in b.offsets[gi]..<b.offsets[gi + 1] { for j in 0..<k { x.values[i * k + j] = lam[j] } }
        }
        return x
    }

    /// ρ (and its optional ReLU) on the per-node features, with the eigenvalue columns appended when configured.
    mutating func applyRho(_ x: Matrix<Float>, _ b: GraphBatch) -> Matrix<Float> {
        var input = x
        if rhoEigenvalues > 0 {
            let lam = eigenvalueColumns(b), c = x.columns, k = rhoEigenvalues, w = c + k
            input = Matrix(rows: x.rows, columns: w)
            for i in 0..<x.rows {
                for j in 0..<c { input.values[i * w + j] = x.values[i * c + j] }
                for j in 0..<k { input.values[i * w + c + j] = lam.values[i * k + j] }
            }
        }
        let y = rho.forward(input)
        return configuration.positionalReLU ? rhoAct.forward(y) : y
    }

    /// The adjoint of `applyRho`: d loss / d x (the eigenvalue columns are data).
    mutating func applyRhoBackward(_ dy: Matrix<Float>) -> Matrix<Float> {
        let d = rho.backward(configuration.positionalReLU ? rhoAct.backward(dy) : dy)
        guard rhoEigenvalues > 0 else { return d }
        let w = d.columns, c = w - rhoEigenvalues
        var out = Matrix<Float>(rows: d.rows, columns: c)
        for i in 0..<d.rows { for j in 0..<c { out.values[i * c + j] = d.values[i * w + j] } }
        return out
    }

    /// The batch's eigenvectors as N × k rows (each graph's first k, zero beyond its size; times
    /// √n with `scaledEigenvectors`) and the mask of real entries.
    func eigenvectors(_ b: GraphBatch) -> (Matrix<Float>, [Bool]) {
        let k = configuration.k
        var x = Matrix<Float>(rows: b.nodeCount, columns: k)
        var mask = [Bool](repeating: false, count: b.nodeCount * k)
        for (gi, g) in b.graphs.enumerated() {
            let (v, m) = g.spectrum.padded(k)
            let o = b.offsets[gi] * k, scale = configuration.scaledEigenvectors ? Float(g.spectrum.n).squareRoot() : 1
            for i in 0..<v.count { x.values[o + i] = scale * v[i]; mask[o + i] = m[i % k] }
        }
        return (x, mask)
    }

    /// The positional encoding (N × p) of a batch.
    mutating func encode<G: RandomNumberGenerator>(_ b: GraphBatch, training: Bool, using rng: inout G) -> Matrix<Float> {
        let c = configuration, k = c.k
        switch c.encoding {
        case .none: return Matrix(rows: b.nodeCount, columns: 0)
        case .eigen, .abs, .signflip:
            var (x, _) = eigenvectors(b)
            if c.encoding == .abs { x.values = x.values.map { Swift.abs($0) } }
            if c.encoding == .signflip && training {
                for gi in 0..<b.count {
                    let flips: [Float] = (0..<k).map { _ in Bool.random(using: &rng) ? -1 : 1 }
                    for i in b.offsets[gi]..<b.offsets[gi + 1] { for j in 0..<k { x.values[i * k + j] *= flips[j] } }
                }
            }
            return applyRho(x, b)
        case .signnet:
            let (x, mask) = eigenvectors(b)
            let lam = c.eigenvalues ? eigenvalueColumns(b) : nil
            return applyRho(pool(signnet.forward(x, mask: mask, eigenvalues: lam, b, k: k)), b)
        case .basisnet:
            return applyRho(pool(basisnet.forward(b, k: k)), b)
        }
    }

    /// ρ's input: the N × (k·q) per-eigenvector features as they are, or summed over the k (DeepSets).
    func pool(_ r: Matrix<Float>) -> Matrix<Float> {
        configuration.deepSets ? SetSum.forward(r, elements: configuration.k) : r
    }

    /// The adjoint of `pool`.
    func poolBackward(_ d: Matrix<Float>) -> Matrix<Float> {
        configuration.deepSets ? SetSum.backward(d, elements: configuration.k) : d
    }

    /// The IGN 2→1 basis maps (normalised, `IGNBasis.apply2to1`) of the projector P = V_s V_sᵀ
    /// of eigenspace s, per node: [P_ii, (P1)_i / n, (1ᵀP)_i / n, tr P / n, 1ᵀP1 / n²] — n × 5,
    /// computed from the m eigenvectors without forming P.
    public static func projectorSummaries(_ sp: GraphSpectrum, space s: Int) -> [Float] {
        let n = sp.n, cols = sp.eigenspaces[s]
        var colSum = [Double](repeating: 0, count: cols.count)
        for (jj, j) in cols.enumerated() { for a in 0..<n { colSum[jj] += sp.vectors[a * n + j] } }
        var diag = [Double](repeating: 0, count: n), row = diag
        var trace = 0.0
        for i in 0..<n {
            for (jj, j) in cols.enumerated() {
                let v = sp.vectors[i * n + j]
                diag[i] += v * v; row[i] += v * colSum[jj]
            }
            trace += diag[i]
        }
        let total = colSum.reduce(0) { $0 + $1 * $1 }, dn = Double(n)
        var f = [Float](repeating: 0, count: n * 5)
        for i in 0..<n {
            f[i * 5] = Float(diag[i]); f[i * 5 + 1] = Float(row[i] / dn); f[i * 5 + 2] = Float(row[i] / dn)
            f[i * 5 + 3] = Float(trace / dn); f[i * 5 + 4] = Float(total / (dn * dn))
        }
        return f
    }

    /// Outputs (B × outputs: class logits or regression values) for a batch of graphs.
    public mutating func forward<G: RandomNumberGenerator>(_ b: GraphBatch, training: Bool, using rng: inout G) -> Matrix<Float> {
        let pe = encode(b, training: training, using: &rng)
        let f = featureCount, p = pe.columns, N = b.nodeCount
        var h = Matrix<Float>(rows: N, columns: f + p)
        for (gi, g) in b.graphs.enumerated() {
            precondition(g.graph.featureCount == f, "graph \(gi) has \(g.graph.featureCount) node features, the model \(f)")
            for i in 0..<g.graph.nodeCount {
                let row = b.offsets[gi] + i
                for cc in 0..<f { h.values[row * (f + p) + cc] = g.graph.features[i * f + cc] }
            }
        }
        for i in 0..<N { for cc in 0..<p { h.values[i * (f + p) + f + cc] = pe.values[i * p + cc] } }
        for l in base.indices {
            h = base[l].forward(h, b.adjacency)
            if l < base.count - 1 { h = baseAct[l].forward(h) }
        }
        let w = h.columns
        var pooled = Matrix<Float>(rows: b.count, columns: w)
        for gi in 0..<b.count {
            let lo = b.offsets[gi], hi = b.offsets[gi + 1]
            let scale: Float = configuration.readout == .mean ? 1 / Float(max(1, hi - lo)) : 1
            for i in lo..<hi { for cc in 0..<w { pooled.values[gi * w + cc] += scale * h.values[i * w + cc] } }
        }
        return head2.forward(headAct.forward(head1.forward(pooled)))
    }

    /// Accumulates the gradients of a loss whose derivative with respect to the outputs is `d` (B × outputs).
    public mutating func backward(_ d: Matrix<Float>, _ b: GraphBatch) {
        let c = configuration, k = c.k, N = b.nodeCount
        let dp = head1.backward(headAct.backward(head2.backward(d)))
        let w = dp.columns
        var dh = Matrix<Float>(rows: N, columns: w)
        for gi in 0..<b.count {
            let lo = b.offsets[gi], hi = b.offsets[gi + 1]
            let scale: Float = c.readout == .mean ? 1 / Float(max(1, hi - lo)) : 1
            for i in lo..<hi { for cc in 0..<w { dh.values[i * w + cc] = scale * dp.values[gi * w + cc] } }
        }
        for l in base.indices.reversed() {
            if l < base.count - 1 { dh = baseAct[l].backward(dh) }
            dh = base[l].backward(dh, b.adjacency)
        }
        guard c.encoding != .none else { return }
        let f = featureCount, p = c.positionalDimension
        var dpe = Matrix<Float>(rows: N, columns: p)
        for i in 0..<N { for cc in 0..<p { dpe.values[i * p + cc] = dh.values[i * (f + p) + f + cc] } }
        let drho = applyRhoBackward(dpe)
        let dr = c.encoding == .signnet || c.encoding == .basisnet ? poolBackward(drho) : drho
        switch c.encoding {
        case .none, .eigen, .abs, .signflip: return  // the eigenvectors are data
        case .signnet: signnet.backward(dr, nodes: N, k: k)
        case .basisnet: basisnet.backward(dr, b, k: k)
        }
    }

    /// One graph: its outputs.
    public mutating func forward<G: RandomNumberGenerator>(_ g: PreparedGraph, training: Bool, using rng: inout G) -> [Float] {
        forward(GraphBatch([g]), training: training, using: &rng).values
    }

    /// One graph: accumulates the gradients for d loss / d outputs = `d`.
    public mutating func backward(_ d: [Float], _ g: PreparedGraph) {
        backward(Matrix(rows: 1, columns: d.count, values: d), GraphBatch([g]))
    }

    /// Parameters the configured encoding uses (the vector below also holds the unused
    /// encoders' weights, which get no gradient).
    public var usedParameterCount: Int {
        func count(_ l: MessageLayer) -> Int { l.first.parameterCount + l.second.parameterCount + (l.edge?.parameterCount ?? 0) }
        let phiCount = signnet.phi.reduce(0) { $0 + count($1) }
        let ignCount = (configuration.basisNetFull ? basisnet.ign + basisnet.ign2 : basisnet.ign).reduce(0) { $0 + $1.weights.count + $1.bias.count }
        let core = base.reduce(0) { $0 + count($1) } + head1.parameterCount + head2.parameterCount
        switch configuration.encoding {
        case .none: return core
        case .eigen, .abs, .signflip: return core + rho.parameterCount
        case .signnet: return core + rho.parameterCount + phiCount
        case .basisnet: return core + rho.parameterCount + ignCount + basisnet.lambdaWeights.count
        }
    }

    // MARK: parameters as one vector (for the optimiser)

    mutating func forEachLinear(_ body: (inout Linear<Float>) -> Void) {
        for i in signnet.phi.indices { body(&signnet.phi[i].first); body(&signnet.phi[i].second) }
        body(&rho)
        for i in base.indices {
            body(&base[i].first); body(&base[i].second)
            if base[i].edge != nil { body(&base[i].edge!) }
        }
        body(&head1); body(&head2)
    }

    public var parameters: [Float] {
        var m = self, p = [Float]()
        m.forEachLinear { p += $0.weight.values + ($0.bias ?? []) }
        for g in basisnet.ign2 { p += g.weights + g.bias }
        for g in basisnet.ign { p += g.weights + g.bias }
        return p + basisnet.lambdaWeights
    }

    public var gradients: [Float] {
        var m = self, p = [Float]()
        m.forEachLinear { p += $0.weightGradient.values + ($0.biasGradient ?? []) }
        for g in basisnet.ign2 { p += g.weightGradient + g.biasGradient }
        for g in basisnet.ign { p += g.weightGradient + g.biasGradient }
        return p + basisnet.lambdaGradients
    }

    public mutating func setParameters(_ p: [Float]) {
        var o = 0
        forEachLinear { l in
            let w = l.weight.values.count
            l.weight.values.withUnsafeMutableBufferPointer { dst in for i in 0..<w { dst[i] = p[o + i] } }
            o += w
            if let b = l.bias?.count { l.bias = Array(p[o..<(o + b)]); o += b }
        }
        for i in basisnet.ign2.indices {
            let w = basisnet.ign2[i].weights.count, b = basisnet.ign2[i].bias.count
            basisnet.ign2[i].weights = Array(p[o..<(o + w)]); o += w
            basisnet.ign2[i].bias = Array(p[o..<(o + b)]); o += b
        }
        for i in basisnet.ign.indices {
            let w = basisnet.ign[i].weights.count, b = basisnet.ign[i].bias.count
            basisnet.ign[i].weights = Array(p[o..<(o + w)]); o += w
            basisnet.ign[i].bias = Array(p[o..<(o + b)]); o += b
        }
        let lw = basisnet.lambdaWeights.count
        basisnet.lambdaWeights = Array(p[o..<(o + lw)]); o += lw
        precondition(o == p.count, "parameter vector has \(p.count) values, the model \(o)")
    }

    public mutating func zeroGradients() {
        forEachLinear { $0.zeroGradients() }
        basisnet.zeroGradients()
    }
}

/// SignNet's φ (Lim et al. 2023) on a batch: a two-layer GIN over 2k copies of the batch —
/// eigenvector j on copy j, its negation on copy k + j, one disjoint union — and φ(v) + φ(−v)
/// per node and eigenvector (N × k·q). Stores what its backward needs.
struct SignNetEncoder: Sendable {
    var phi: [MessageLayer], act = Activation<Float>(.relu)
    var copies: Adjacency?
    var mask: [Bool] = []

    /// inputs: 1 (the eigenvector) or 2 (and its eigenvalue, the same on both sign branches).
    init<G: RandomNumberGenerator>(hidden q: Int, inputs: Int = 1, using rng: inout G) {
        phi = [MessageLayer(inputs: inputs, hidden: q, outputs: q, edgeTypes: 0, using: &rng),
               MessageLayer(inputs: q, hidden: q, outputs: q, edgeTypes: 0, using: &rng)]
    }

    var hidden: Int { phi[1].second.outputs }

    /// x: the batch's eigenvectors (N × k) with the mask of real entries; `eigenvalues` (N × k)
    /// when φ takes them.
    mutating func forward(_ x: Matrix<Float>, mask: [Bool], eigenvalues lam: Matrix<Float>? = nil, _ b: GraphBatch, k: Int) -> Matrix<Float> {
        let N = b.nodeCount, q = hidden, f = phi[0].first.inputs
        precondition((lam != nil) == (f == 2), "φ takes \(f) inputs per node")
        let adj = b.adjacency.replicated(2 * k)
        copies = adj
        self.mask = mask
        var u = Matrix<Float>(rows: 2 * k * N, columns: f)
        for i in 0..<N { for j in 0..<k where mask[i * k + j] {
            u.values[(j * N + i) * f] = x.values[i * k + j]; u.values[((k + j) * N + i) * f] = -x.values[i * k + j]
            if let lam { u.values[(j * N + i) * f + 1] = lam.values[i * k + j]; u.values[((k + j) * N + i) * f + 1] = lam.values[i * k + j] }
        } }
        let h = phi[1].forward(act.forward(phi[0].forward(u, adj)), adj)
        var r = Matrix<Float>(rows: N, columns: k * q)
        for i in 0..<N { for j in 0..<k where mask[i * k + j] { for cc in 0..<q {
            r.values[i * k * q + j * q + cc] = h.values[(j * N + i) * q + cc] + h.values[((k + j) * N + i) * q + cc]
        } } }
        return r
    }

    /// Accumulates φ's gradients for d loss / d output = `dr` (N × k·q).
    mutating func backward(_ dr: Matrix<Float>, nodes N: Int, k: Int) {
        guard let adj = copies else { return }
        let q = hidden
        var dhh = Matrix<Float>(rows: 2 * k * N, columns: q)
        for i in 0..<N { for j in 0..<k where mask[i * k + j] { for cc in 0..<q {
            let v = dr.values[i * k * q + j * q + cc]
            dhh.values[(j * N + i) * q + cc] = v; dhh.values[((k + j) * N + i) * q + cc] = v
        } } }
        _ = phi[0].backward(act.backward(phi[1].backward(dhh, adj)), adj)
    }
}

/// BasisNet's φ (Lim et al. 2023) on a batch: for each graph's first k eigenspaces the projector
/// V Vᵀ through an IGN — one φ per multiplicity 1…4 (larger use the last) — then a ReLU
/// (N × k·q, zero for missing eigenspaces). The cheap form is one IGN 2→1 layer computed from V in
/// O(n·m); the full form is IGN 2→2 → ReLU → 2→1 (`FullBasisPhi`). Stores what its backward needs.
struct BasisNetEncoder: Sendable {
    var ign2: [IGNLayer<Float>]           // full form: IGN 2→2 per multiplicity
    var ign: [IGNLayer<Float>]            // IGN 2→1 per multiplicity
    var act = Activation<Float>(.relu)
    let full: Bool
    var usedSpaces: [(graph: Int, space: Int, layer: Int)] = []
    /// Per slot, what its φ read: the cheap form's n × 5 summaries, or the full form's projector.
    var slotInputs: [[Float]] = []
    /// With eigenvalues: u (4 multiplicities × q), φ's output gains u·λ_s before the ReLU.
    var lambdaWeights: [Float] = []
    var lambdaGradients: [Float] = []

    init<G: RandomNumberGenerator>(hidden q: Int, full: Bool, channels: Int, using rng: inout G) {
        self.full = full
        ign2 = (0..<4).map { _ in IGNLayer(.twoToTwo, inChannels: 1, outChannels: channels, using: &rng) }
        ign = (0..<4).map { _ in IGNLayer(.twoToOne, inChannels: full ? channels : 1, outChannels: q, using: &rng) }
    }

    var hidden: Int { ign[0].outChannels }

    mutating func forward(_ b: GraphBatch, k: Int) -> Matrix<Float> {
        let N = b.nodeCount, q = hidden
        var r = Matrix<Float>(rows: N, columns: k * q)
        usedSpaces = []
        slotInputs = []
        for (gi, g) in b.graphs.enumerated() {
            let n = g.graph.nodeCount, o = b.offsets[gi], spaces = g.spectrum.eigenspaces
            for s in 0..<min(k, spaces.count) {
                let layer = min(spaces[s].count, 4) - 1
                usedSpaces.append((gi, s, layer))
                if !full {
                    // IGN 2→1 on one channel, P = V Vᵀ: its five basis maps from V in O(n·m)
                    let f = GraphModel.projectorSummaries(g.spectrum, space: s)
                    slotInputs.append(f)
                    let w = ign[layer].weights, bias = ign[layer].bias
                    for i in 0..<n { for cc in 0..<q {
                        var y = bias[cc]
                        for t in 0..<5 { y += w[cc * 5 + t] * f[i * 5 + t] }
                        r.values[(o + i) * k * q + s * q + cc] = y
                    } }
                    continue
                }
                let p = g.spectrum.projector(s).map(Float.init)
                slotInputs.append(p)
                let y = FullBasisPhi.forward(p, n: n, first: ign2[layer], second: ign[layer])  // q channels of length n
                for cc in 0..<q { for i in 0..<n { r.values[(o + i) * k * q + s * q + cc] = y[cc * n + i] } }
            }
        }
        if !lambdaWeights.isEmpty {
            for (gi, s, layer) in usedSpaces {
                let g = b.graphs[gi], o = b.offsets[gi], lam = Float(g.spectrum.eigenspaceValue(s))
                for i in 0..<g.graph.nodeCount { for cc in 0..<q { r.values[(o + i) * k * q + s * q + cc] += lambdaWeights[layer * q + cc] * lam } }
            }
        }
        return act.forward(r)
    }

    /// Accumulates the IGN layers' gradients for d loss / d output = `dr` (N × k·q).
    mutating func backward(_ dr: Matrix<Float>, _ b: GraphBatch, k: Int) {
        let q = hidden
        let da = act.backward(dr)
        if !lambdaWeights.isEmpty {
            for (gi, s, layer) in usedSpaces {
                let g = b.graphs[gi], o = b.offsets[gi], lam = Float(g.spectrum.eigenspaceValue(s))
                for i in 0..<g.graph.nodeCount { for cc in 0..<q { lambdaGradients[layer * q + cc] += da.values[(o + i) * k * q + s * q + cc] * lam } }
            }
        }
        for (slot, (gi, s, layer)) in usedSpaces.enumerated() {
            let g = b.graphs[gi], n = g.graph.nodeCount, o = b.offsets[gi]
            if !full {
                // the projector is data: only the layer's weights get gradients
                let f = slotInputs[slot]
                for i in 0..<n { for cc in 0..<q {
                    let d = da.values[(o + i) * k * q + s * q + cc]
                    if d == 0 { continue }
                    ign[layer].biasGradient[cc] += d
                    for t in 0..<5 { ign[layer].weightGradient[cc * 5 + t] += d * f[i * 5 + t] }
                } }
                continue
            }
            let proj = slotInputs[slot]
            var dy = [Float](repeating: 0, count: q * n)
            for cc in 0..<q { for i in 0..<n { dy[cc * n + i] = da.values[(o + i) * k * q + s * q + cc] } }
            FullBasisPhi.backward(proj, n: n, dy: dy, first: &ign2[layer], second: &ign[layer])
        }
    }

    mutating func zeroGradients() {
        for i in lambdaGradients.indices { lambdaGradients[i] = 0 }
        for i in ign.indices { for j in ign[i].weightGradient.indices { ign[i].weightGradient[j] = 0 }; for j in ign[i].biasGradient.indices { ign[i].biasGradient[j] = 0 } }
        for i in ign2.indices { for j in ign2[i].weightGradient.indices { ign2[i].weightGradient[j] = 0 }; for j in ign2[i].biasGradient.indices { ign2[i].biasGradient[j] = 0 } }
    }
}
