// Introduced in Chapter 04 (speed). Reuses tensor buffers between training steps.
//
// A training step allocates the same set of tensors every time (activations, gradients), many of them
// megabytes. Fresh large allocations come from the kernel as new pages that must be zeroed on first
// touch — 12% of a 'small' training step was the kernel clearing pages. The pool keeps freed buffers by
// exact size and hands them out again, up to `capacityBytes` in total; beyond that, buffers are freed.

import Foundation

final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()

    /// At most this many bytes wait in the pool (a quarter of physical memory, at most 4 GiB).
    let capacityBytes = Int(min(ProcessInfo.processInfo.physicalMemory / 4, 4 << 30))
    /// Buffers smaller than this go straight to malloc, which already reuses small blocks well.
    let minimumBytes = 1 << 16
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var pooledBytes = 0
    private let lock = NSLock()

    func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= minimumBytes {
            lock.lock()
            if let pointer = free[bytes]?.popLast() {
                pooledBytes -= bytes
                lock.unlock()
                return pointer
            }
            lock.unlock()
        }
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    func release(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= minimumBytes {
            lock.lock()
            if pooledBytes + bytes <= capacityBytes {
                free[bytes, default: []].append(pointer)
                pooledBytes += bytes
                lock.unlock()
                return
            }
            lock.unlock()
        }
        pointer.deallocate()
    }
}
