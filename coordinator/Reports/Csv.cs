using System.Text;

namespace Distributed.Coordinator.Reports;

/// <summary>RFC 4180 CSV records.</summary>
public static class Csv
{
    /// <summary>
    /// Fields joined by commas, ended with CRLF (the RFC's line break). A field with a comma, a
    /// quote or a line break is wrapped in quotes and its quotes doubled, so a failure reason like
    /// <c>loss is NaN, step 40</c> stays one column.
    /// </summary>
    public static string Record(IEnumerable<string> fields)
    {
        var line = new StringBuilder();
        var first = true;
        foreach (var field in fields)
        {
            if (!first) line.Append(',');
            first = false;
            line.Append(Quote(field));
        }
        return line.Append("\r\n").ToString();
    }

    public static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
