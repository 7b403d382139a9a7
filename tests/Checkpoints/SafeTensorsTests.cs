using System.Buffers.Binary;
using System.Text;
using Distributed.Models.Checkpoints;
using Distributed.Models;

namespace Distributed.Tests.Checkpoints;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static byte[] Write(IEnumerable<(string, int[], ReadOnlyMemory<float>)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, tensors, metadata);
        return stream.ToArray();
    }

    private static byte[] Expected(string headerJson, params float[] data)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + data.Length * 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (var i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(8 + header.Length + 4 * i), data[i]);
        }
        return bytes;
    }

    private string Save(byte[] bytes)
    {
        var path = _temp.File("t.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void TinyFileHasTheExactSafetensorsLayout()
    {
        // Same tensor as the reference implementation's own alignment test: compact JSON header,
        // padded with 7 spaces to 72 bytes, then 6 little-endian floats.
        var bytes = Write([("attn0", [1, 1, 2, 3], new float[] { 0, 1, 2, 3, 4, 5 })]);

        var expected = Expected(
            """{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}""" + "       ",
            0, 1, 2, 3, 4, 5);
        Assert.Equal(expected, bytes);
        Assert.Equal(72UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
    }

    [Fact]
    public void EmptyFileAndMetadataMatchTheReferenceBytes()
    {
        Assert.Equal(Expected("{}      "), Write([]));
        Assert.Equal(
            Expected("""{"__metadata__":{"framework":"pt"}}""" + "     "),
            Write([], new Dictionary<string, string> { ["framework"] = "pt" }));
    }

    [Fact]
    public void OffsetsAreRelativeToTheDataSectionAndContiguousInHeaderOrder()
    {
        var bytes = Write([("b", [2], new float[] { 1, 2 }), ("a", [], new float[] { 3 }), ("empty", [0, 4], Array.Empty<float>())]);

        Assert.Equal(
            Expected("""{"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[],"data_offsets":[8,12]},"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[12,12]}}""", 1, 2, 3),
            bytes);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("ab")]
    [InlineData("abcdefg")]
    [InlineData("h.0.attn.c_attn.weight")]
    [InlineData("ünïcode")]
    public void HeaderIsPaddedSoTheDataStartsOnAnEightByteBoundary(string name)
    {
        var bytes = Write([(name, [3], new float[] { 1, 2, 3 })]);

        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        Assert.Equal(8 + headerLength + 12, bytes.Length);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.StartsWith($"{{\"{name}\":", header);
        Assert.Matches("^[^ ]*} {0,7}$", header);
    }

    [Fact]
    public void RoundTripIsBitExact()
    {
        float[] special = [0f, -0f, float.Epsilon, float.MaxValue, float.NegativeInfinity, BitConverter.Int32BitsToSingle(0x7FC12345), 1e-40f];
        var random = new Rng(7);
        var big = Enumerable.Range(0, 3 * 1000).Select(_ => (float)random.NextGaussian()).ToArray();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["step"] = "42" };
        var path = _temp.File("rt.safetensors");
        using (var stream = File.Create(path))
        {
            SafeTensors.Write(stream, [("special", [7], special), ("big", [3, 1000], big), ("scalar", [], new float[] { 2.5f })], metadata);
        }

        var file = SafeTensors.Read(path);

        Assert.Equal(["special", "big", "scalar"], file.Tensors.Select(t => t.Name));
        Assert.Equal([[7], [3, 1000], []], file.Tensors.Select(t => t.Shape));
        Assert.Equal(special.Select(BitConverter.SingleToInt32Bits), file.Tensors[0].Data.ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(big, file.Tensors[1].Data.ToArray());
        Assert.Equal(metadata, file.Metadata);
    }

    [Fact]
    public void ReadsTensorsInOffsetOrderWhateverTheHeaderOrder()
    {
        var path = Save(Expected(
            """{"second":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"first":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""",
            1, 2));

        var file = SafeTensors.Read(path);

        Assert.Equal([("first", 1f), ("second", 2f)], file.Tensors.Select(t => (t.Name, t.Data.Span[0])));
    }

    public static TheoryData<string, float[], string> Malformed => new()
    {
        { """{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", [1], "has data_offsets [0,8] but the data section has only 4 bytes" },
        { """{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", [1, 2], "(8 bytes) but shape [3] needs 12 bytes" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", [1, 2], "expected it to start at 0" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", [1, 2], "its tensors cover 4 bytes but the data section has 8" },
        { """{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}""", [1], "tensor 'x' has dtype F16, but only F32 is supported" },
        { """{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", [1], "tensor 'x' has shape entry -1; expected a non-negative integer" },
        { """{"x":{"dtype":"F32","shape":[1]}}""", [1], "tensor 'x' has no \"data_offsets\" array" },
        { """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", [1], "Duplicate property 'x'" },
        { """{"__metadata__":{"n":1}}""", [], "\"__metadata__\" entry 'n' must be a string" },
        { """["x"]""", [], "its header does not start with '{'" },
        { """{"x":""", [], "its header is not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFilesAreRefusedNamingTheFileAndTheFault(string header, float[] data, string fault)
    {
        var path = Save(Expected(header, data));

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));

        Assert.StartsWith($"safetensors file '{path}' is invalid: ", error.Message);
        Assert.Contains(fault, error.Message);
    }

    [Fact]
    public void TruncatedFilesAreRefused()
    {
        var bytes = Write([("x", [4], new float[] { 1, 2, 3, 4 })]);

        var tooShort = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(Save(bytes[..5])));
        Assert.Contains("it is 5 bytes, shorter than the 8-byte header length", tooShort.Message);
        var header = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(Save(bytes[..40])));
        Assert.Contains("declares a 56-byte header but only 32 bytes follow", header.Message);
        var data = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(Save(bytes[..^1])));
        Assert.Contains("has data_offsets [0,16] but the data section has only 15 bytes", data.Message);
    }

    [Fact]
    public void AbsurdHeaderLengthIsRefusedBeforeAllocating()
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(Save(bytes)));

        Assert.Contains("over the 100000000-byte limit", error.Message);
    }

    [Theory]
    [InlineData("", "tensor name '' is not allowed")]
    [InlineData("__metadata__", "tensor name '__metadata__' is not allowed")]
    public void WriteRefusesReservedNames(string name, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => Write([(name, [1], new float[] { 1 })]));
        Assert.StartsWith(message, error.Message);
    }

    [Fact]
    public void WriteRefusesDuplicateNamesAndShapeMismatches()
    {
        var duplicate = Assert.Throws<ArgumentException>(() => Write([("w", [1], new float[] { 1 }), ("w", [1], new float[] { 2 })]));
        Assert.StartsWith("tensor name 'w' appears twice", duplicate.Message);

        var mismatch = Assert.Throws<ArgumentException>(() => Write([("w", [2, 3], new float[5])]));
        Assert.StartsWith("tensor 'w' has shape [2,3] (6 elements) but 5 values", mismatch.Message);

        var negative = Assert.Throws<ArgumentException>(() => Write([("w", [-1, -1], new float[1])]));
        Assert.StartsWith("tensor 'w' has shape [-1,-1] with a negative dimension", negative.Message);
    }
}
