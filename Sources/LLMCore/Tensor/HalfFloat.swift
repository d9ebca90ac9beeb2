// Introduced in Chapter 03 (safetensors F16/BF16), used again in Chapter 07. Half-precision floats by hand.

/// IEEE half precision and bfloat16 conversions (round to nearest, ties to even), portable to every
/// platform the course builds on.
public enum HalfFloat {
    public static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31, exponent = Int((h >> 10) & 0x1F), mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }           // inf, NaN
        if exponent == 0 {                                                                              // zero, subnormal
            let value = Float(mantissa) * 0x1p-24
            return sign == 0 ? value : -value
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }

    public static func half(fromFloat f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if f.isNaN { return sign | 0x7E00 }
        let magnitude = abs(f)
        if magnitude >= 65520 { return sign | 0x7C00 }                                                  // overflow → inf
        if magnitude < 0x1p-14 {                                                                        // subnormal half
            return sign | UInt16((magnitude * 0x1p24).rounded(.toNearestOrEven))
        }
        let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
        var mantissa = bits & 0x7F_FFFF
        var result = UInt32(exponent) << 10 | mantissa >> 13
        mantissa &= 0x1FFF                                                                              // the 13 dropped bits
        if mantissa > 0x1000 || (mantissa == 0x1000 && result & 1 == 1) { result += 1 }                // may carry into the exponent
        return sign | UInt16(result)
    }

    public static func bfloat16(fromFloat f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
