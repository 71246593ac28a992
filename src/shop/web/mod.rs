//! The shop counter (积分超市柜台) in the console: find the resident, their card and the goods,
//! the basket, the receipt and its prints, voids, and the day's register; and the goods on sale
//! as residents read them at home (商品).

pub mod counter;
pub mod goods;
pub mod on_sale;
pub mod receipts;
pub mod register;

use actix_web::web::{get, post, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/shop").route(get().to(on_sale::show_shop)))
        .service(resource("/counter").route(get().to(counter::find)))
        .service(resource("/counter/register").route(get().to(register::show_register)))
        .service(resource("/counter/members/{id}").route(get().to(counter::show_card)))
        .service(resource("/counter/members/{id}/basket").route(get().to(counter::show_basket)))
        .service(resource("/counter/members/{id}/redeem").route(post().to(counter::confirm)))
        .service(resource("/counter/receipts/{id}").route(get().to(receipts::show_receipt)))
        .service(resource("/counter/receipts/{id}/print").route(get().to(receipts::print_receipt)))
        .service(resource("/counter/receipts/{id}/void").route(post().to(receipts::void_receipt)))
        .service(
            resource("/goods")
                .route(get().to(goods::show_goods))
                .route(post().to(goods::create_goods)),
        )
        .service(
            resource("/goods/{id}")
                .route(get().to(goods::show_one))
                .route(post().to(goods::change_goods)),
        )
        .service(resource("/goods/{id}/restock").route(post().to(goods::restock_goods)));
}
