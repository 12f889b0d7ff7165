import Foundation
import Geometry
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

public struct GraphModelConfiguration: Codable, Sendable, Equatable {
    public var encoding: PositionalEncoding = .signnet
    /// Eigenvectors (or eigenspace slots for BasisNet) used.
    public var k: Int = 8
    public var positionalDimension: Int = 8
    public var phiHidden: Int = 16
    public var hidden: Int = 32
    /// Classes, or 1 for regression.
    public var outputs: Int = 10
    public var laplacian: LaplacianKind = .normalized
    /// BasisNet's φ: false — one IGN 2→1 layer (the reference code's cheap form); true — IGN 2→2
    /// (all 15 basis maps, 4 channels), ReLU, then 2→1. The full form is ~10× slower per epoch.
    public var basisNetFull = false
    public var seed: UInt64 = 0
    public init() {}
}

/// One graph made ready for the network: features, adjacency, spectrum.
public struct PreparedGraph: Sendable {
    public let graph: Graph
    public let adjacency: Adjacency
    public let spectrum: GraphSpectrum
    public init(_ g: Graph, laplacian: LaplacianKind = .normalized) {
        graph = g
        adjacency = Adjacency(nodes: g.nodeCount, edges: g.edges)
        spectrum = GraphSpectrum(g, kind: laplacian)
    }
    public init(_ g: Graph, spectrum: GraphSpectrum) {
        graph = g
        adjacency = Adjacency(nodes: g.nodeCount, edges: g.edges)
        self.spectrum = spectrum
    }
}

/// GIN (two layers, sum readout, linear head) on [node features ‖ positional encoding].
public struct GraphModel: Sendable {
    public let configuration: GraphModelConfiguration
    public let featureCount: Int
    /// Channels between BasisNet's 2→2 and 2→1 layers.
    static let basisChannels = 4
    // positional encoders
    var phi1: GINLayer<Float>, phi2: GINLayer<Float>, phiAct = Activation<Float>(.relu)
    var ign2: [IGNLayer<Float>]           // BasisNet φ per multiplicity 1…4 (larger use the last): IGN 2→2,
    var ign: [IGNLayer<Float>]            // ReLU, then IGN 2→1
    var ignAct = Activation<Float>(.relu)
    var rho: Linear<Float>, rhoAct = Activation<Float>(.relu)
    // base network
    var gin1: GINLayer<Float>, gin2: GINLayer<Float>, act = Activation<Float>(.relu)
    var head: Linear<Float>
    // stored for backward
    var n = 0, copies: Adjacency?, usedSpaces: [(space: Int, layer: Int)] = [], ignInputs = 0
    var flips: [Float] = []

    public init(configuration c: GraphModelConfiguration, featureCount: Int) {
        configuration = c
        self.featureCount = featureCount
        var rng = SplitMix64(seed: c.seed &+ 0x6A09E667)
        let q = c.phiHidden
        phi1 = GINLayer(inputs: 1, hidden: q, outputs: q, using: &rng)
        phi2 = GINLayer(inputs: q, hidden: q, outputs: q, using: &rng)
        ign2 = (0..<4).map { _ in IGNLayer(.twoToTwo, inChannels: 1, outChannels: GraphModel.basisChannels, using: &rng) }
        ign = (0..<4).map { _ in IGNLayer(.twoToOne, inChannels: c.basisNetFull ? GraphModel.basisChannels : 1, outChannels: q, using: &rng) }
        let rhoIn: Int
        switch c.encoding {
        case .none: rhoIn = 1
        case .eigen, .abs, .signflip: rhoIn = c.k
        case .signnet, .basisnet: rhoIn = c.k * q
        }
        rho = Linear(inputs: rhoIn, outputs: c.positionalDimension, using: &rng)
        let p = c.encoding == .none ? 0 : c.positionalDimension
        gin1 = GINLayer(inputs: featureCount + p, hidden: c.hidden, outputs: c.hidden, using: &rng)
        gin2 = GINLayer(inputs: c.hidden, hidden: c.hidden, outputs: c.hidden, using: &rng)
        head = Linear(inputs: c.hidden, outputs: c.outputs, using: &rng)
    }

    /// The positional encoding (n × p) of a graph.
    mutating func encode<G: RandomNumberGenerator>(_ g: PreparedGraph, training: Bool, using rng: inout G) -> Matrix<Float> {
        let c = configuration, k = c.k, q = c.phiHidden
        n = g.graph.nodeCount
        let (V, mask) = g.spectrum.padded(k)
        switch c.encoding {
        case .none: return Matrix(rows: n, columns: 0)
        case .eigen, .abs, .signflip:
            var x = Matrix(rows: n, columns: k, values: V)
            if c.encoding == .abs { x.values = x.values.map { Swift.abs($0) } }
            if c.encoding == .signflip {
                flips = (0..<k).map { _ in training && Bool.random(using: &rng) ? -1 : 1 }
                for i in 0..<n { for j in 0..<k { x.values[i * k + j] *= flips[j] } }
            }
            return rhoAct.forward(rho.forward(x))
        case .signnet:
            // 2k copies of the graph: eigenvector j on copy j, its negation on copy k + j.
            var edges = [(Int, Int)]()
            for copy in 0..<(2 * k) { for (a, b) in g.graph.edges { edges.append((copy * n + a, copy * n + b)) } }
            let adj = Adjacency(nodes: 2 * k * n, edges: edges)
            copies = adj
            var u = Matrix<Float>(rows: 2 * k * n, columns: 1)
            for j in 0..<k where mask[j] { for i in 0..<n { u.values[j * n + i] = V[i * k + j]; u.values[(k + j) * n + i] = -V[i * k + j] } }
            let h = phi2.forward(phiAct.forward(phi1.forward(u, graph: adj)), graph: adj)
            var r = Matrix<Float>(rows: n, columns: k * q)
            for j in 0..<k where mask[j] { for i in 0..<n { for cc in 0..<q {
                r.values[i * k * q + j * q + cc] = h.values[(j * n + i) * q + cc] + h.values[((k + j) * n + i) * q + cc]
            } } }
            return rhoAct.forward(rho.forward(r))
        case .basisnet:
            var r = Matrix<Float>(rows: n, columns: k * q)
            usedSpaces = []
            let spaces = g.spectrum.eigenspaces
            // one IGN forward over all slots of each multiplicity class would need batching; slots are few: run per slot
            var outs = [[[Float]]]()
            for s in 0..<min(k, spaces.count) {
                let m = spaces[s].count, layer = min(m, 4) - 1
                let p = g.spectrum.projector(s).map(Float.init)
                let first = configuration.basisNetFull ? ign2[layer].forward([p], n: n).map { $0.map { max(0, $0) } } : [p]
                let y = ign[layer].forward(first, n: n)  // q channels of length n
                outs.append(y)
                usedSpaces.append((s, layer))
                // IGN layers keep only their last input: backward runs them again per slot (see backward)
            }
            ignInputs = outs.count
            for (slot, y) in outs.enumerated() { for cc in 0..<q { for i in 0..<n { r.values[i * k * q + slot * q + cc] = y[cc][i] } } }
            let a = ignAct.forward(r)
            return rhoAct.forward(rho.forward(a))
        }
    }

    /// Output (classes' logits or the regression value) for one graph.
    public mutating func forward<G: RandomNumberGenerator>(_ g: PreparedGraph, training: Bool, using rng: inout G) -> [Float] {
        let pe = encode(g, training: training, using: &rng)
        let f = featureCount, p = pe.columns
        var z = Matrix<Float>(rows: n, columns: f + p)
        for i in 0..<n {
            for c in 0..<f { z.values[i * (f + p) + c] = g.graph.features[i * f + c] }
            for c in 0..<p { z.values[i * (f + p) + f + c] = pe.values[i * p + c] }
        }
        let h = gin2.forward(act.forward(gin1.forward(z, graph: g.adjacency)), graph: g.adjacency)
        var pooled = Matrix<Float>(rows: 1, columns: h.columns)
        for i in 0..<n { for c in 0..<h.columns { pooled.values[c] += h.values[i * h.columns + c] } }
        return head.forward(pooled).values
    }

    /// Accumulates the gradients of the loss whose derivative with respect to the output is `d`.
    public mutating func backward(_ d: [Float], _ g: PreparedGraph) {
        let c = configuration, k = c.k, q = c.phiHidden
        let dp = head.backward(Matrix(rows: 1, columns: c.outputs, values: d))
        var dh = Matrix<Float>(rows: n, columns: dp.columns)
        for i in 0..<n { for cc in 0..<dp.columns { dh.values[i * dp.columns + cc] = dp.values[cc] } }
        let dz = gin1.backward(act.backward(gin2.backward(dh, graph: g.adjacency)), graph: g.adjacency)
        guard c.encoding != .none else { return }
        let f = featureCount, p = c.positionalDimension
        var dpe = Matrix<Float>(rows: n, columns: p)
        for i in 0..<n { for cc in 0..<p { dpe.values[i * p + cc] = dz.values[i * (f + p) + f + cc] } }
        let dr = rho.backward(rhoAct.backward(dpe))
        switch c.encoding {
        case .none, .eigen, .abs, .signflip: return  // the eigenvectors are data
        case .signnet:
            guard let adj = copies else { return }
            var dhh = Matrix<Float>(rows: 2 * k * n, columns: q)
            for j in 0..<min(k, n) { for i in 0..<n { for cc in 0..<q {
                let v = dr.values[i * k * q + j * q + cc]
                dhh.values[(j * n + i) * q + cc] = v; dhh.values[((k + j) * n + i) * q + cc] = v
            } } }
            _ = phi1.backward(phiAct.backward(phi2.backward(dhh, graph: adj)), graph: adj)
        case .basisnet:
            let da = ignAct.backward(dr)
            for (slot, (s, layer)) in usedSpaces.enumerated() {
                let proj = g.spectrum.projector(s).map(Float.init)
                let full = configuration.basisNetFull
                let hidden = full ? ign2[layer].forward([proj], n: n) : [proj]  // restore this slot's inputs
                _ = ign[layer].forward(full ? hidden.map { $0.map { max(0, $0) } } : hidden, n: n)
                var dy = [[Float]](repeating: [Float](repeating: 0, count: n), count: q)
                for cc in 0..<q { for i in 0..<n { dy[cc][i] = da.values[i * k * q + slot * q + cc] } }
                var dh = ign[layer].backward(dy)
                if full {
                    for ch in dh.indices { for i in dh[ch].indices where !(hidden[ch][i] > 0) { dh[ch][i] = 0 } }
                    _ = ign2[layer].backward(dh)
                }
            }
        }
    }

    /// Parameters the configured encoding uses (the vector below also holds the unused
    /// encoders' weights, which get no gradient).
    public var usedParameterCount: Int {
        let phi = [phi1.first, phi1.second, phi2.first, phi2.second].reduce(0) { $0 + $1.parameterCount }
        let ignCount = (configuration.basisNetFull ? ign + ign2 : ign).reduce(0) { $0 + $1.weights.count + $1.bias.count }
        let base = [rho, gin1.first, gin1.second, gin2.first, gin2.second, head].reduce(0) { $0 + $1.parameterCount }
        switch configuration.encoding {
        case .none: return base - rho.parameterCount
        case .eigen, .abs, .signflip: return base
        case .signnet: return base + phi
        case .basisnet: return base + ignCount
        }
    }

    // MARK: parameters as one vector (for the optimiser)

    var linears: [WritableKeyPath<GraphModel, Linear<Float>>] {
        [\.phi1.first, \.phi1.second, \.phi2.first, \.phi2.second, \.rho, \.gin1.first, \.gin1.second, \.gin2.first, \.gin2.second, \.head]
    }

    public var parameters: [Float] {
        var p = [Float]()
        for l in linears { p += self[keyPath: l].weight.values + self[keyPath: l].bias! }
        for g in ign2 { p += g.weights + g.bias }
        for g in ign { p += g.weights + g.bias }
        return p
    }

    public var gradients: [Float] {
        var p = [Float]()
        for l in linears { p += self[keyPath: l].weightGradient.values + self[keyPath: l].biasGradient! }
        for g in ign2 { p += g.weightGradient + g.biasGradient }
        for g in ign { p += g.weightGradient + g.biasGradient }
        return p
    }

    public mutating func setParameters(_ p: [Float]) {
        var o = 0
        for l in linears {
            let w = self[keyPath: l].weight.values.count, b = self[keyPath: l].bias!.count
            self[keyPath: l].weight.values = Array(p[o..<(o + w)]); o += w
            self[keyPath: l].bias = Array(p[o..<(o + b)]); o += b
        }
        for i in ign2.indices {
            let w = ign2[i].weights.count, b = ign2[i].bias.count
            ign2[i].weights = Array(p[o..<(o + w)]); o += w
            ign2[i].bias = Array(p[o..<(o + b)]); o += b
        }
        for i in ign.indices {
            let w = ign[i].weights.count, b = ign[i].bias.count
            ign[i].weights = Array(p[o..<(o + w)]); o += w
            ign[i].bias = Array(p[o..<(o + b)]); o += b
        }
    }

    public mutating func zeroGradients() {
        for l in linears { self[keyPath: l].zeroGradients() }
        for i in ign.indices { for j in ign[i].weightGradient.indices { ign[i].weightGradient[j] = 0 }; for j in ign[i].biasGradient.indices { ign[i].biasGradient[j] = 0 } }
        for i in ign2.indices { for j in ign2[i].weightGradient.indices { ign2[i].weightGradient[j] = 0 }; for j in ign2[i].biasGradient.indices { ign2[i].biasGradient[j] = 0 } }
    }
}
