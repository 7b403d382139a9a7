using Distributed.Models.Config;

namespace Distributed.Models.Search;

/// <summary>
/// One swept config field and where its values come from. Values are what the field holds in config
/// JSON: int, long or double for numbers, the lowercase name for enums, the text for strings.
/// </summary>
public abstract record SearchDimension(string Field)
{
    /// <summary>The spelling in the sweep file ("choice", "uniform", ...), for messages.</summary>
    public abstract string Kind { get; }

    internal abstract object Sample(Rng rng);
}

/// <summary>A plain list or {"choice": [...]}: the grid's values, or drawn uniformly in random search.</summary>
public sealed record ChoiceDimension(string Field, IReadOnlyList<object> Values) : SearchDimension(Field)
{
    public override string Kind => "choice";

    internal override object Sample(Rng rng) => Values[rng.NextInt(Values.Count)];
}

/// <summary>Uniform in [Low, High).</summary>
public sealed record UniformDimension(string Field, double Low, double High) : SearchDimension(Field)
{
    public override string Kind => "uniform";

    internal override object Sample(Rng rng) => Low + (High - Low) * rng.NextDouble();
}

/// <summary>exp(uniform(log Low, log High)): each factor of ten is as likely as any other.</summary>
public sealed record LogUniformDimension(string Field, double Low, double High) : SearchDimension(Field)
{
    public override string Kind => "log_uniform";

    // exp(log(x)) can land an ulp outside [Low, High], which could fail a range check the bounds passed.
    internal override object Sample(Rng rng) =>
        Math.Clamp(Math.Exp(Math.Log(Low) + (Math.Log(High) - Math.Log(Low)) * rng.NextDouble()), Low, High);
}

/// <summary>A whole number in [Low, High], both ends included.</summary>
public sealed record IntUniformDimension(string Field, long Low, long High) : SearchDimension(Field)
{
    public override string Kind => "int_uniform";

    // The loader keeps High - Low + 1 within int, which Rng.NextInt needs.
    internal override object Sample(Rng rng) => FieldValue(Low + rng.NextInt((int)(High - Low + 1)));

    /// <summary>The whole number as the field's own type, so Values hold an int for an int field.</summary>
    internal object FieldValue(long value) =>
        ConfigJson.FieldTypes[Field] == typeof(int) ? (object)(int)value : value;
}
