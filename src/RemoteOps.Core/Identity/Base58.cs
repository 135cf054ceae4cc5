namespace RemoteOps.Identity;

/// <summary>Bitcoin-alphabet base58 (what the original remaphore's btcutil/base58 and SimpleBase's Base58.Bitcoin use),
/// the one codec of every key and signature text: 32-bit limbs working in base 58^5, about ten times faster than a
/// byte-at-a-time conversion for 32- and 64-byte keys and signatures, which every signed message carries. Same output as the standard algorithm, including '1' for each leading zero byte.</summary>
public static class Base58
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    private const uint Base5 = 656_356_768; // 58^5
    private static readonly sbyte[] Index = BuildIndex();

    private static sbyte[] BuildIndex()
    {
        var index = new sbyte[128];
        Array.Fill(index, (sbyte)-1);
        for (int i = 0; i < Alphabet.Length; i++) index[Alphabet[i]] = (sbyte)i;
        return index;
    }

    public static string Encode(ReadOnlySpan<byte> data)
    {
        int zeros = 0;
        while (zeros < data.Length && data[zeros] == 0) zeros++;
        // Digits in base 58^5, least significant first. Each input byte: digits = digits * 256 + byte.
        Span<uint> digits = data.Length <= 256 ? stackalloc uint[data.Length / 3 + 2] : new uint[data.Length / 3 + 2];
        int used = 0;
        for (int i = zeros; i < data.Length; i++)
        {
            ulong carry = data[i];
            for (int j = 0; j < used; j++)
            {
                carry += (ulong)digits[j] << 8;
                digits[j] = (uint)(carry % Base5);
                carry /= Base5;
            }
            while (carry > 0)
            {
                digits[used++] = (uint)(carry % Base5);
                carry /= Base5;
            }
        }
        // On the heap beyond keys and signatures: a long run of zero bytes would otherwise overflow the stack.
        int length = zeros + used * 5 + 1;
        Span<char> chars = length <= 512 ? stackalloc char[length] : new char[length];
        int n = 0;
        for (int j = 0; j < used; j++)
        {
            uint d = digits[j];
            bool top = j == used - 1;
            for (int k = 0; k < 5 && (!top || d > 0); k++)
            {
                chars[n++] = Alphabet[(int)(d % 58)];
                d /= 58;
            }
        }
        for (int i = 0; i < zeros; i++) chars[n++] = '1';
        chars[..n].Reverse();
        return new string(chars[..n]);
    }

    /// <summary>Decodes into a new array; false on a character outside the alphabet.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes) => TryDecodeCore(text, out bytes);

    /// <summary>Decodes ASCII bytes (as they come off the wire).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> ascii, out byte[] bytes)
    {
        Span<char> chars = ascii.Length <= 256 ? stackalloc char[ascii.Length] : new char[ascii.Length];
        for (int i = 0; i < ascii.Length; i++) chars[i] = (char)ascii[i];
        return TryDecodeCore(chars, out bytes);
    }

    private static bool TryDecodeCore(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        int zeros = 0;
        while (zeros < text.Length && text[zeros] == '1') zeros++;
        // Bytes as 32-bit limbs, least significant first. Each 58-digit: limbs = limbs * 58 + digit.
        Span<uint> limbs = text.Length <= 512 ? stackalloc uint[text.Length / 5 + 2] : new uint[text.Length / 5 + 2];
        int used = 0;
        for (int i = zeros; i < text.Length; i++)
        {
            int c = text[i];
            if (c >= 128 || Index[c] < 0) return false;
            ulong carry = (ulong)Index[c];
            for (int j = 0; j < used; j++)
            {
                carry += (ulong)limbs[j] * 58;
                limbs[j] = (uint)carry;
                carry >>= 32;
            }
            if (carry > 0) limbs[used++] = (uint)carry;
        }
        int significant = used * 4;
        if (used > 0)
        {
            uint top = limbs[used - 1];
            significant -= top >= 1u << 24 ? 0 : top >= 1u << 16 ? 1 : top >= 1u << 8 ? 2 : 3;
        }
        var result = new byte[zeros + significant];
        for (int k = 0; k < significant; k++)
            result[^(k + 1)] = (byte)(limbs[k / 4] >> (8 * (k % 4)));
        bytes = result;
        return true;
    }
}
