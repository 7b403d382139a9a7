using System.Buffers.Binary;
using SkiaSharp;

namespace Distributed.Tests.Reports;

/// <summary>Just enough PNG reading to check a chart: header fields, and how much of a colour it shows.</summary>
public static class Png
{
    public static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Width and height from the IHDR chunk, which the format requires to come first.</summary>
    public static (int Width, int Height) Size(byte[] png)
    {
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    /// <summary>
    /// Pixels within a small distance of <paramref name="color"/> (#rrggbb). The tolerance absorbs
    /// anti-aliasing at line edges; the count tells drawn data from a lone legend swatch.
    /// </summary>
    public static int CountColor(byte[] png, string color, int tolerance = 24)
    {
        var target = SKColor.Parse(color);
        using var bitmap = SKBitmap.Decode(png);
        var count = 0;
        foreach (var pixel in bitmap.Pixels)
        {
            if (Math.Abs(pixel.Red - target.Red) <= tolerance
                && Math.Abs(pixel.Green - target.Green) <= tolerance
                && Math.Abs(pixel.Blue - target.Blue) <= tolerance)
                count++;
        }
        return count;
    }
}
