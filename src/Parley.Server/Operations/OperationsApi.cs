using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Operations;

public static class OperationsApi
{
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/health", async (IParleyStore store, CancellationToken ct) =>
        {
            try
            {
                return await store.PingAsync(ct)
                    ? TypedResults.Json(new { status = "ok" }, AppJson.Options)
                    : ApiError.Status(StatusCodes.Status503ServiceUnavailable, "The store does not answer.");
            }
            catch (Exception)
            {
                return ApiError.Status(StatusCodes.Status503ServiceUnavailable, "The store does not answer.");
            }
        }).WithTags("Operations").AllowAnonymous();
        routes.MapOpenApi().AllowAnonymous();
        return routes;
    }
}
