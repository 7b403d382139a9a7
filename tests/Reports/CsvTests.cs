using Distributed.Coordinator.Reports;

namespace Distributed.Tests.Reports;

public sealed class CsvTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("", "")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("cr\rhere", "\"cr\rhere\"")]
    public void QuotesOnlyFieldsThatNeedIt(string field, string expected) =>
        Assert.Equal(expected, Csv.Quote(field));

    [Fact]
    public void RecordsEndWithCrLf() =>
        Assert.Equal("a,\"b,c\",d\r\n", Csv.Record(["a", "b,c", "d"]));
}
