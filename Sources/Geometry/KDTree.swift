import Dispatch

/// A k-d tree over 3-D points for nearest-neighbour queries (point clouds, mapping between two
/// discretizations). Built once (O(n log n)); queries are read-only and may run on any number
/// of threads. Ties in distance are broken by the smaller index, so results do not depend on
/// the tree's shape.
public struct KDTree: Sendable {
    /// The points, 3 coordinates each.
    public let points: [Double]
    /// Point indices in tree order; node i covers order[lo..<hi] with its split point at the middle.
    private let order: [Int32]
    private let axes: [UInt8]
    public var count: Int { points.count / 3 }

    /// Builds the tree of `points` (3 coordinates per point; finite).
    public init(points: [Double]) {
        self.points = points
        let n = points.count / 3
        var order = (0..<n).map(Int32.init)
        var axes = [UInt8](repeating: 0, count: n)
        // Iterative median splits on the axis of largest extent.
        var stack = [(0, n)]
        while let (lo, hi) = stack.popLast() {
            guard hi - lo > 1 else { continue }
            var lower = SIMD3<Double>(repeating: .infinity), upper = SIMD3<Double>(repeating: -.infinity)
            for i in lo..<hi {
                let p = Int(order[i])
                let q = SIMD3(points[3 * p], points[3 * p + 1], points[3 * p + 2])
                lower = pointwiseMin(lower, q); upper = pointwiseMax(upper, q)
            }
            let ext = upper - lower
            let axis = ext.x >= ext.y && ext.x >= ext.z ? 0 : (ext.y >= ext.z ? 1 : 2)
            let mid = (lo + hi) / 2
            KDTree.select(&order, lo, hi, mid) { a, b in
                let va = points[3 * Int(a) + axis], vb = points[3 * Int(b) + axis]
                return va < vb || (va == vb && a < b)
            }
            axes[mid] = UInt8(axis)
            stack.append((lo, mid))
            stack.append((mid + 1, hi))
        }
        self.order = order
        self.axes = axes
    }

    /// Quickselect: order[k] in its sorted place, smaller before, larger after.
    private static func select(_ a: inout [Int32], _ lo: Int, _ hi: Int, _ k: Int, _ less: (Int32, Int32) -> Bool) {
        var lo = lo, hi = hi - 1
        while lo < hi {
            let pivot = a[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while less(a[i], pivot) { i += 1 }
                while less(pivot, a[j]) { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }

    /// The `k` points nearest to `query` (by distance, then index), nearest first, skipping the
    /// point with index `excluding`.
    public func nearest(to query: SIMD3<Double>, k: Int, excluding: Int = -1) -> [Int] {
        guard k > 0, count > 0 else { return [] }
        // A max-heap of (distance², index) of size ≤ k.
        var heap = [(Double, Int)]()
        heap.reserveCapacity(k + 1)
        func worse(_ a: (Double, Int), _ b: (Double, Int)) -> Bool { a.0 > b.0 || (a.0 == b.0 && a.1 > b.1) }
        func push(_ e: (Double, Int)) {
            if heap.count == k {
                guard worse(heap[0], e) else { return }
                heap[0] = e
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < heap.count && worse(heap[l], heap[m]) { m = l }
                    if r < heap.count && worse(heap[r], heap[m]) { m = r }
                    if m == i { break }
                    heap.swapAt(i, m); i = m
                }
            } else {
                heap.append(e)
                var i = heap.count - 1
                while i > 0 && worse(heap[i], heap[(i - 1) / 2]) { heap.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
            }
        }
        var stack = [(0, count, 0.0)]  // node range and the squared distance to its side of the split
        while let (lo, hi, plane) = stack.popLast() {
            guard lo < hi, heap.count < k || plane <= heap[0].0 else { continue }
            let mid = (lo + hi) / 2
            let p = Int(order[mid])
            let d = SIMD3(points[3 * p], points[3 * p + 1], points[3 * p + 2]) - query
            if p != excluding { push(((d * d).sum(), p)) }
            guard hi - lo > 1 else { continue }
            let axis = Int(axes[mid])
            let diff = query[axis] - points[3 * p + axis]
            let (near, far) = diff < 0 ? ((lo, mid), (mid + 1, hi)) : ((mid + 1, hi), (lo, mid))
            // The far side only when the splitting plane is within the k-th distance (checked again when popped).
            if heap.count < k || diff * diff <= heap[0].0 { stack.append((far.0, far.1, diff * diff)) }
            stack.append((near.0, near.1, 0))
        }
        return heap.sorted { worse($1, $0) }.map(\.1)
    }

    /// For every point, its `k` nearest other points (nearest first); `k` is capped at count − 1.
    /// Queries are spread over the cores.
    public func allNearest(k: Int) -> [[Int]] {
        let n = count, kk = min(k, max(0, n - 1))
        var out = [[Int]](repeating: [], count: n)
        out.withUnsafeMutableBufferPointer { buf in
            nonisolated(unsafe) let o = buf.baseAddress!
            let chunks = max(1, min(n / 256, 64))
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for i in (c * n / chunks)..<((c + 1) * n / chunks) {
                    o[i] = nearest(to: SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2]), k: kk, excluding: i)
                }
            }
        }
        return out
    }
}
